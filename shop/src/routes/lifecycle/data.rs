//! The customer's data: its export (GDPR art. 20) and the account's deletion (art. 17).

use super::*;
use crate::store::Address;

/// A review in the export.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportReview<'a> {
    product: &'a str,
    product_name: &'a str,
    rating: i32,
    title: Option<&'a str>,
    comment: Option<&'a str>,
    verified: bool,
    created_at: String,
}

/// Everything the shop holds about the customer (GDPR art. 20).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Export<'a> {
    exported_at: String,
    profile: UserView<'a>,
    newsletter: bool,
    addresses: &'a [Address],
    orders: Vec<OrderJson>,
    reviews: Vec<ExportReview<'a>>,
    wishlist: Vec<ProductView<'a>>,
}

pub(super) fn export_json(data: &AccountData) -> Export<'_> {
    Export {
        exported_at: crate::domain::time::rfc3339_utc(crate::auth::now()),
        profile: UserView::from(&data.user),
        newsletter: data.newsletter,
        addresses: &data.addresses,
        orders: data.orders.iter().map(OrderJson::from).collect(),
        reviews: data
            .reviews
            .iter()
            .map(|r| ExportReview {
                product: &r.product_slug,
                product_name: &r.product_name,
                rating: r.rating,
                title: r.title.as_deref(),
                comment: r.comment.as_deref(),
                verified: r.verified,
                created_at: crate::domain::time::rfc3339_utc(r.created_at),
            })
            .collect(),
        wishlist: data.wishlist.iter().map(ProductView::from).collect(),
    }
}

/// `GET /compte/donnees`: the export as a file to download.
pub async fn page_export(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(sign_in_first("/compte/donnees"));
    };
    let data = service::export(&state, &user)
        .await
        .map_err(AppError::from)?;
    let body = serde_json::to_string_pretty(&export_json(&data))
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut response = (
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"vivr-mes-donnees.json\""),
    );
    set_cache_control(&mut response, CachePolicy::NoStore);
    Ok(response)
}

fn delete_page<'a>(state: &'a AppState, ctx: &'a RequestContext) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Supprimer mon compte"),
        "Supprimer mon compte",
    );
    page.intro = vec![
        "La suppression est définitive. Vos adresses, votre panier, vos envies, vos avis, votre inscription à la \
         newsletter et vos sessions sont effacés ; votre nom et votre email aussi."
            .to_string(),
        "Vos commandes sont conservées pour la comptabilité, sans rien qui vous désigne : ni nom, ni email, ni \
         adresse postale (seuls le pays et le code postal restent)."
            .to_string(),
        "Vous pouvez d'abord télécharger vos données.".to_string(),
    ];
    page.form = Some(Form {
        action: "/compte/supprimer",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![FormField::password(
            "password",
            "Votre mot de passe, pour confirmer",
            "current-password",
        )],
        submit: "Supprimer définitivement mon compte",
        danger: true,
    });
    page.links = vec![
        ("/compte/donnees", "Télécharger mes données (JSON)"),
        ("/compte", "Annuler : retour à mon compte"),
    ];
    page
}

pub async fn page_delete(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    if ctx.user.is_none() {
        return Ok(sign_in_first("/compte/supprimer"));
    }
    delete_page(&state, &ctx).respond(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
}

pub async fn page_delete_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, PageError> {
    match service::delete_account(&state, ip, &user, SecretString::from(form.password)).await {
        Ok(()) => {
            let signed_out = RequestContext {
                user: None,
                session_hash: None,
                ..ctx.clone()
            };
            let mut page = FormPage::new(
                Layout::new(&state, &signed_out, "Compte supprimé"),
                "Compte supprimé",
            );
            page.notice = Some(
                "Votre compte est supprimé, et vos données personnelles effacées. Merci d'avoir été client de \
                 VIVR."
                    .to_string(),
            );
            page.links = vec![("/", "Retour à l'accueil")];
            let mut response = page.respond(StatusCode::OK)?;
            clear_session(&state, &mut response);
            Ok(response)
        }
        Err(err @ (LifecycleError::WrongPassword | LifecycleError::Invalid(_))) => {
            let mut problems = FieldMessages::default();
            push_error(&mut problems, "password", err);
            delete_page(&state, &ctx)
                .with_problems(problems)
                .respond(StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err @ (LifecycleError::OrdersInProgress | LifecycleError::AdminAccount)) => {
            let mut problems = FieldMessages::default();
            push_error(&mut problems, "password", err);
            let status = status_of(&problems);
            delete_page(&state, &ctx)
                .with_problems(problems)
                .respond(status)
        }
        Err(err) => Err(AppError::from(err).into()),
    }
}
