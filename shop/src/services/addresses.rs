//! A customer's saved addresses: create, edit, delete, at most one default (used first at checkout). Another
//! customer's address is "not found", never "forbidden": its existence is not revealed.

use crate::auth::now;
use crate::domain::FieldError;
use crate::domain::address::{AddressFields, AddressInput};
use crate::store::{Address, AddressStore, StoreError};

/// A customer may keep this many addresses.
pub const MAX_ADDRESSES: usize = 20;

/// Why an address could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// No such address, or another customer's.
    #[error("no such address")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("a customer keeps at most {max} addresses")]
    TooMany { max: usize },
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AddressError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AddressError::NotFound,
            other => AddressError::Store(other),
        }
    }
}

pub async fn list(store: &dyn AddressStore, user_id: &str) -> Result<Vec<Address>, AddressError> {
    Ok(store.list_addresses(user_id).await?)
}

pub async fn get(
    store: &dyn AddressStore,
    user_id: &str,
    id: &str,
) -> Result<Address, AddressError> {
    store
        .address_for_user(user_id, id)
        .await?
        .ok_or(AddressError::NotFound)
}

pub async fn create(
    store: &dyn AddressStore,
    user_id: &str,
    fields: &AddressFields,
    make_default: bool,
) -> Result<Address, AddressError> {
    let input = AddressInput::parse(fields)?;
    if store.list_addresses(user_id).await?.len() >= MAX_ADDRESSES {
        return Err(AddressError::TooMany { max: MAX_ADDRESSES });
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
) -> Result<Address, AddressError> {
    let input = AddressInput::parse(fields)?;
    Ok(store
        .update_address(user_id, id, &input, make_default, now())
        .await?)
}

pub async fn delete(store: &dyn AddressStore, user_id: &str, id: &str) -> Result<(), AddressError> {
    Ok(store.delete_address(user_id, id).await?)
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
pub fn as_input(address: &Address) -> Result<AddressInput, AddressError> {
    Ok(AddressInput::parse(&address.fields)?)
}
