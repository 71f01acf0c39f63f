//! The customer's words and the HTTP answer for each service's errors. The services say what went wrong; this is
//! the one place that says it in French, with a status and a stable `error.code`.

use super::{AppError, InvalidField};
use crate::auth::LimitError;
use crate::domain::{FieldError, Rule};
use crate::services::accounts::AccountError;
use crate::services::addresses::AddressError;
use crate::services::cart::CartError;
use crate::services::catalog::CatalogError;
use crate::services::checkout::CheckoutError;
use crate::services::lifecycle::LifecycleError;
use crate::services::newsletter::NewsletterError;
use crate::services::orders::OrderError;
use crate::services::payments::WebhookError;
use crate::services::reviews::ReviewError;

/// What a customer reads when Stripe fails after the order was placed (also in the checkout's JSON answer).
pub const PAYMENT_RETRY_LATER: &str = "Le service de paiement ne répond pas : votre commande est enregistrée, réessayez le paiement dans un instant";

impl From<LimitError> for AppError {
    fn from(err: LimitError) -> Self {
        match err {
            LimitError::Exceeded(quota) => AppError::TooManyRequests(quota),
            LimitError::Store(err) => err.into(),
        }
    }
}

impl From<CartError> for AppError {
    fn from(err: CartError) -> Self {
        match err {
            CartError::UnknownProduct => AppError::NotFound("Produit introuvable"),
            CartError::ZeroQuantity => FieldError::new("quantity", Rule::AtLeast(1)).into(),
            CartError::Stock(problem) => problem.into(),
            CartError::Store(err) => err.into(),
        }
    }
}

impl From<AddressError> for AppError {
    fn from(err: AddressError) -> Self {
        match err {
            AddressError::NotFound => AppError::NotFound("Adresse introuvable"),
            AddressError::Invalid(field) => field.into(),
            AddressError::TooMany { max } => AppError::Conflict {
                code: "too_many_addresses",
                message: format!(
                    "Vous pouvez enregistrer {max} adresses au plus : supprimez-en une d'abord"
                ),
            },
            AddressError::Store(err) => err.into(),
        }
    }
}

impl From<CheckoutError> for AppError {
    fn from(err: CheckoutError) -> Self {
        match err {
            CheckoutError::CartEmpty => AppError::Conflict {
                code: "cart_empty",
                message: "Votre panier est vide".into(),
            },
            CheckoutError::CartChanged => AppError::Conflict {
                code: "cart_changed",
                message: "Votre panier a changé depuis l'affichage de cette page : vérifiez-le avant de commander".into(),
            },
            CheckoutError::IdempotencyKey => AppError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key : 8 à 100 caractères parmi lettres, chiffres et - _ . :",
            ),
            CheckoutError::Stock(problem) => problem.into(),
            CheckoutError::Address(err) => err.into(),
            CheckoutError::OrderGone => AppError::NotFound("Commande introuvable"),
            CheckoutError::PaymentProvider(_) => {
                AppError::PaymentUnavailable(PAYMENT_RETRY_LATER.into())
            }
            err @ (CheckoutError::PaymentMismatch { .. } | CheckoutError::NoClientSecret { .. }) => {
                AppError::Internal(anyhow::Error::new(err))
            }
            CheckoutError::Store(err) => err.into(),
        }
    }
}

impl From<OrderError> for AppError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::NotFound => AppError::NotFound("Commande introuvable"),
            OrderError::InvalidMove { from, to } => AppError::Conflict {
                code: "invalid_transition",
                message: format!(
                    "Une commande « {} » ne peut pas passer à « {} »",
                    from.label_fr(),
                    to.label_fr()
                ),
            },
            OrderError::PaymentProvider(_) => {
                AppError::PaymentUnavailable("Le service de paiement ne répond pas".into())
            }
            OrderError::Store(err) => err.into(),
        }
    }
}

impl From<AccountError> for AppError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid(field) => field.into(),
            AccountError::EmailTaken => AppError::Conflict {
                code: "email_taken",
                message: "Cet email est déjà utilisé".into(),
            },
            AccountError::InvalidCredentials => {
                AppError::bad_request("invalid_credentials", "Email ou mot de passe incorrect")
            }
            AccountError::Throttled(quota) => AppError::TooManyRequests(quota),
            AccountError::NotActivated => AppError::bad_request(
                "account_not_activated",
                "Votre compte n'est pas encore activé : nous venons de vous renvoyer le lien d'activation par \
                 email (valable 24 heures). Ouvrez-le pour vous connecter.",
            ),
            AccountError::Password(err) => err.into(),
            AccountError::Store(err) => err.into(),
        }
    }
}

impl From<WebhookError> for AppError {
    fn from(err: WebhookError) -> Self {
        match err {
            WebhookError::NotConfigured => AppError::PaymentUnavailable(
                "Webhook Stripe non configuré dans cet environnement".into(),
            ),
            WebhookError::Signature(err) => AppError::bad_request(
                "invalid_signature",
                format!("Signature Stripe invalide : {err}"),
            ),
            WebhookError::Malformed(err) => AppError::bad_request(
                "malformed_event",
                format!("Événement Stripe illisible : {err}"),
            ),
            WebhookError::Mismatch(what) => AppError::Validation(InvalidField::new(
                "data.object",
                format!("ne correspond pas à la commande ({what})"),
            )),
            WebhookError::Store(err) => err.into(),
        }
    }
}

impl From<CatalogError> for AppError {
    fn from(err: CatalogError) -> Self {
        match err {
            CatalogError::Parameter(field) => AppError::InvalidParameter(field.into()),
            CatalogError::Invalid(field) => field.into(),
            CatalogError::UnknownCategory => AppError::NotFound("Catégorie introuvable"),
            CatalogError::UnknownProduct => AppError::NotFound("Produit introuvable"),
            CatalogError::Store(err) => err.into(),
        }
    }
}

impl From<ReviewError> for AppError {
    fn from(err: ReviewError) -> Self {
        match err {
            ReviewError::Catalog(err) => err.into(),
            ReviewError::NoReview => AppError::NotFound("Avis introuvable"),
            ReviewError::Store(err) => err.into(),
        }
    }
}

impl From<NewsletterError> for AppError {
    fn from(err: NewsletterError) -> Self {
        match err {
            NewsletterError::Invalid(field) => field.into(),
            NewsletterError::InvalidLink => AppError::bad_request(
                "invalid_token",
                "Lien de désinscription invalide : utilisez le lien reçu par email.",
            ),
            NewsletterError::SignUpGone => AppError::NotFound(
                "Cette inscription n'existe plus (désinscrite, ou non confirmée pendant 7 jours) : inscrivez-vous \
                 de nouveau.",
            ),
            NewsletterError::Store(err) => err.into(),
        }
    }
}

impl From<LifecycleError> for AppError {
    fn from(err: LifecycleError) -> Self {
        match err {
            LifecycleError::Invalid(field) => field.into(),
            LifecycleError::WrongPassword => AppError::bad_request(
                "invalid_credentials",
                "Mot de passe actuel incorrect",
            ),
            LifecycleError::InvalidLink => AppError::bad_request(
                "invalid_token",
                "Ce lien n'est plus valable : il a déjà servi, un lien plus récent l'a remplacé, ou il a expiré. \
                 Demandez-en un nouveau.",
            ),
            LifecycleError::EmailTaken => AppError::Conflict {
                code: "email_taken",
                message: "Cette adresse email est déjà celle d'un autre compte".into(),
            },
            LifecycleError::OrdersInProgress => AppError::Conflict {
                code: "orders_in_progress",
                message: "Une commande n'est pas encore livrée : son adresse est encore nécessaire. Vous pourrez \
                          supprimer votre compte une fois la commande livrée ou annulée."
                    .into(),
            },
            LifecycleError::AdminAccount => AppError::Conflict {
                code: "admin_account",
                message: "Un compte administrateur ne peut pas se supprimer lui-même : demandez à un autre \
                          administrateur de lui retirer ce rôle d'abord."
                    .into(),
            },
            LifecycleError::Throttled(quota) => AppError::TooManyRequests(quota),
            LifecycleError::Account(err) => err.into(),
            LifecycleError::Store(err) => err.into(),
        }
    }
}
