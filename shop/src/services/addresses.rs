//! A customer's saved addresses: create, edit, delete, at most one default (used first at checkout). Another
//! customer's address is "not found", never "forbidden": its existence is not revealed.

use crate::auth::now;
use crate::domain::address::{AddressFields, AddressInput};
use crate::error::AppError;
use crate::store::{Address, AddressStore, StoreError};

/// A customer may keep this many addresses.
pub const MAX_ADDRESSES: usize = 20;

const NOT_FOUND: AppError = AppError::NotFound("Adresse introuvable");

fn not_found(err: StoreError) -> AppError {
    match err {
        StoreError::NotFound => NOT_FOUND,
        other => other.into(),
    }
}

pub async fn list(store: &dyn AddressStore, user_id: &str) -> Result<Vec<Address>, AppError> {
    Ok(store.list_addresses(user_id).await?)
}

pub async fn get(store: &dyn AddressStore, user_id: &str, id: &str) -> Result<Address, AppError> {
    store.address_for_user(user_id, id).await?.ok_or(NOT_FOUND)
}

pub async fn create(
    store: &dyn AddressStore,
    user_id: &str,
    fields: &AddressFields,
    make_default: bool,
) -> Result<Address, AppError> {
    let input = AddressInput::parse(fields)?;
    if store.list_addresses(user_id).await?.len() >= MAX_ADDRESSES {
        return Err(AppError::Conflict {
            code: "too_many_addresses",
            message: format!(
                "Vous pouvez enregistrer {MAX_ADDRESSES} adresses au plus : supprimez-en une d'abord"
            ),
        });
    }
    Ok(store
        .create_address(user_id, &input, make_default, now())
        .await?)
}

pub async fn update(
    store: &dyn AddressStore,
    user_id: &str,
    id: &str,
    fields: &AddressFields,
    make_default: bool,
) -> Result<Address, AppError> {
    let input = AddressInput::parse(fields)?;
    store
        .update_address(user_id, id, &input, make_default, now())
        .await
        .map_err(not_found)
}

pub async fn delete(store: &dyn AddressStore, user_id: &str, id: &str) -> Result<(), AppError> {
    store.delete_address(user_id, id).await.map_err(not_found)
}

/// The snapshot an order keeps (JSON in `Order.address`, the shape the original app used), with the email the
/// order's messages go to.
pub fn snapshot(address: &AddressInput, email: &str) -> serde_json::Value {
    serde_json::json!({
        "firstName": address.first_name,
        "lastName": address.last_name,
        "email": email,
        "phone": address.phone,
        "street": address.street,
        "apartment": address.apartment,
        "city": address.city,
        "postalCode": address.postal_code,
        "country": address.country.code(),
    })
}

/// A saved address as checkout input (it was validated when saved; a country no longer served is refused here).
pub fn as_input(address: &Address) -> Result<AddressInput, AppError> {
    Ok(AddressInput::parse(&address.fields())?)
}
