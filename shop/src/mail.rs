//! Order and newsletter emails: composed here, queued in the database by the change that causes them (see
//! `store::OrderStore::change_order_status`, `store::CommunityStore::newsletter_subscribe`), and sent by the
//! worker in `jobs` through SMTP (lettre). Without a mail server configured, each email is written to the log
//! instead, and counts as delivered.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::checkout::rate_display_fr;
use crate::store::{LinkPurpose, Order, OrderEmail};

#[derive(Clone)]
pub struct MailConfig {
    /// `smtps://user:pass@host:465` (TLS), `smtp://user:pass@host:587` (STARTTLS required), or
    /// `smtp://host:25?tls=none` for a local relay without TLS.
    pub smtp_url: SecretString,
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &"[redacted]")
            .field("from", &self.from)
            .finish()
    }
}

/// Where emails go.
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    /// No SMTP configured: emails are logged.
    Log,
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub subject: String,
    pub body: String,
    /// A one-click unsubscribe URL (RFC 8058): sent as `List-Unsubscribe` with `List-Unsubscribe-Post`.
    pub unsubscribe: Option<String>,
}

/// How an email left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Logged,
}

/// lettre reads `smtp://` without a `tls` parameter as plain text; vivr reads it as STARTTLS required, and only an
/// explicit `tls=none` turns encryption off.
fn transport_url(url: &str) -> String {
    if !url.starts_with("smtp://") {
        return url.to_string();
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if params.contains(&"tls=none") {
        let rest: Vec<&str> = params.into_iter().filter(|p| *p != "tls=none").collect();
        return if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
    }
    if params.iter().any(|p| p.starts_with("tls=")) {
        return url.to_string();
    }
    let mut params = params;
    params.push("tls=required");
    format!("{base}?{}", params.join("&"))
}

/// The TLS lettre's URL parsing chose for `url` (normalised by [`transport_url`]), redone with the shop's roots:
/// Mozilla's and `extra_roots` (see `tls`). `None` when the URL asks for no TLS.
fn tls_with_roots(
    url: &str,
    extra_roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<Option<Tls>, String> {
    let parsed = url::Url::parse(url).map_err(|_| INVALID_URL.to_string())?;
    let host = parsed.host_str().ok_or(INVALID_URL)?.to_string();
    let mode = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let mut builder = TlsParameters::builder(host).certificate_store(CertificateStore::WebpkiRoots);
    for der in extra_roots {
        if let Ok(certificate) = Certificate::from_der(der.to_vec()) {
            builder = builder.add_root_certificate(certificate);
        }
    }
    let parameters = || {
        builder
            .clone()
            .build_rustls()
            .map_err(|e| format!("VIVR_SMTP_URL: the TLS settings cannot be used: {e}"))
    };
    Ok(match (parsed.scheme(), mode.as_deref()) {
        ("smtps", _) => Some(Tls::Wrapper(parameters()?)),
        ("smtp", Some("required")) => Some(Tls::Required(parameters()?)),
        ("smtp", Some("opportunistic")) => Some(Tls::Opportunistic(parameters()?)),
        _ => None,
    })
}

const INVALID_URL: &str = "VIVR_SMTP_URL is not a valid smtp:// or smtps:// URL";

impl Mailer {
    /// A mailer for `config` (logging only without one) whose TLS trusts Mozilla's roots and `extra_roots`.
    pub fn new(
        config: Option<&MailConfig>,
        extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    ) -> Result<Self, String> {
        let Some(config) = config else {
            return Ok(Mailer::Log);
        };
        let url = transport_url(config.smtp_url.expose_secret());
        // lettre's errors may quote the URL: report the kind of failure only.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|_| INVALID_URL.to_string())?
            .timeout(Some(Duration::from_secs(20)));
        if let Some(tls) = tls_with_roots(&url, extra_roots)? {
            builder = builder.tls(tls);
        }
        let transport = builder.build();
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("VIVR_MAIL_FROM is not an email address: {e}"))?;
        Ok(Mailer::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    pub async fn send(&self, to: &str, email: &Outgoing) -> Result<Delivery, String> {
        match self {
            Mailer::Log => {
                // Emails carry order contents, addresses and signed links: never their recipient or text in logs
                // (the caller logs the email's kind and id).
                let _ = (to, email);
                tracing::warn!("email not sent: no SMTP server configured (VIVR_SMTP_URL)");
                Ok(Delivery::Logged)
            }
            Mailer::Smtp { transport, from } => {
                let to = to
                    .parse::<Mailbox>()
                    .map_err(|e| format!("recipient: {e}"))?;
                let mut builder = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(email.subject.as_str())
                    .header(ContentType::TEXT_PLAIN);
                if let Some(url) = &email.unsubscribe {
                    builder = builder
                        .raw_header(HeaderValue::new(
                            HeaderName::new_from_ascii_str("List-Unsubscribe"),
                            format!("<{url}>"),
                        ))
                        .raw_header(HeaderValue::new(
                            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                            "List-Unsubscribe=One-Click".to_string(),
                        ));
                }
                let message = builder
                    .body(email.body.clone())
                    .map_err(|e| format!("building the message: {e}"))?;
                transport
                    .send(message)
                    .await
                    .map(|_| Delivery::Sent)
                    .map_err(|e| format!("SMTP: {e}"))
            }
        }
    }
}

/// The welcome email of a new newsletter subscriber.
pub fn newsletter_welcome(unsubscribe_url: &str) -> Outgoing {
    Outgoing {
        subject: "VIVR : bienvenue dans notre newsletter".to_string(),
        body: format!(
            "Bonjour,\n\nVotre inscription à la newsletter VIVR est enregistrée : nouveautés et inspirations \
             déco, au plus une fois par semaine.\n\nVous pouvez vous désinscrire à tout moment : {unsubscribe_url}\n\n\
             À bientôt,\nL'équipe VIVR\n"
        ),
        unsubscribe: Some(unsubscribe_url.to_string()),
    }
}

/// The link that confirms a newsletter sign-up (double opt-in): nothing is sent to the address until it is used.
pub fn newsletter_confirmation(confirm_url: &str) -> Outgoing {
    Outgoing {
        subject: "VIVR : confirmez votre inscription à la newsletter".to_string(),
        body: format!(
            "Bonjour,\n\nPour recevoir la newsletter VIVR (nouveautés et inspirations déco, au plus une fois par \
             semaine), confirmez votre inscription :\n\n{confirm_url}\n\nSi vous n'avez rien demandé, ignorez cet \
             email : sans confirmation, votre adresse est oubliée dans 7 jours.\n\nL'équipe VIVR\n"
        ),
        unsubscribe: None,
    }
}

/// The notice to the owner of an address someone tried to register again (the registration form answers the
/// same either way, so only the owner learns the address has an account).
pub fn account_exists(public_url: &str) -> Outgoing {
    let base = public_url.trim_end_matches('/');
    Outgoing {
        subject: "VIVR : vous avez déjà un compte".to_string(),
        body: format!(
            "Bonjour,\n\nQuelqu'un, peut-être vous, a voulu créer un compte VIVR avec cette adresse email. Elle a \
             déjà un compte : aucun autre n'a été créé.\n\nSe connecter : {base}/connexion\nMot de passe oublié : \
             {base}/mot-de-passe/oublie\n\nSi ce n'était pas vous, ignorez cet email : rien n'a changé.\n\n\
             L'équipe VIVR\n"
        ),
        unsubscribe: None,
    }
}

/// The notice to an account's previous address once its email changed.
pub fn email_changed(public_url: &str) -> Outgoing {
    let base = public_url.trim_end_matches('/');
    Outgoing {
        subject: "VIVR : l'adresse email de votre compte a changé".to_string(),
        body: format!(
            "Bonjour,\n\nL'adresse email de votre compte VIVR vient d'être remplacée : les emails du compte partent \
             désormais à la nouvelle adresse.\n\nSi c'est vous, il n'y a rien à faire. Sinon, écrivez-nous tout de \
             suite : {base}/contact\n\nL'équipe VIVR\n"
        ),
        unsubscribe: None,
    }
}

/// A link email: a password reset, or the confirmation of a new email address. `valid_for` says how long, in
/// words.
pub fn account_link(purpose: LinkPurpose, url: &str, valid_for: &str) -> Outgoing {
    let (subject, body) = match purpose {
        LinkPurpose::PasswordReset => (
            "VIVR : choisir un nouveau mot de passe",
            format!(
                "Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable {valid_for}, une seule \
                 fois) :\n\n{url}\n\nVos sessions ouvertes seront fermées. Si vous n'avez rien demandé, ignorez \
                 cet email : votre mot de passe ne change pas.\n\nL'équipe VIVR\n"
            ),
        ),
        LinkPurpose::Activation => (
            "VIVR : activez votre compte",
            format!(
                "Bonjour,\n\nBienvenue chez VIVR ! Pour activer votre compte et vous connecter, ouvrez ce lien \
                 (valable {valid_for}, une seule fois) :\n\n{url}\n\nSi vous n'avez pas créé de compte, ignorez cet \
                 email : sans activation, le compte ne peut pas servir.\n\nL'équipe VIVR\n"
            ),
        ),
        LinkPurpose::EmailChange => (
            "VIVR : confirmez votre nouvelle adresse email",
            format!(
                "Bonjour,\n\nPour que votre compte VIVR utilise désormais cette adresse, ouvrez ce lien (valable \
                 {valid_for}, une seule fois) :\n\n{url}\n\nSi vous n'avez rien demandé, ignorez cet email : rien \
                 ne change.\n\nL'équipe VIVR\n"
            ),
        ),
    };
    Outgoing {
        subject: subject.to_string(),
        body,
        unsubscribe: None,
    }
}

/// An order email: the order confirmation or the shipping notice.
pub fn compose(kind: OrderEmail, order: &Order, public_url: &str) -> Outgoing {
    let link = format!(
        "{}/compte/commandes/{}",
        public_url.trim_end_matches('/'),
        order.number
    );
    let mut lines = String::new();
    for item in &order.items {
        lines.push_str(&format!(
            "  - {} × {} : {}\n",
            item.quantity,
            item.name,
            crate::domain::line_total(item.unit_price, item.quantity).display_fr()
        ));
    }
    let (subject, body) = match kind {
        OrderEmail::Confirmation => (
            format!("VIVR : confirmation de votre commande {}", order.number),
            format!(
                "Bonjour,\n\nNous avons bien reçu votre paiement : votre commande {number} est confirmée.\n\n{lines}\n\
                 Sous-total : {subtotal}\nLivraison : {shipping}\nTotal TTC : {total} (dont TVA {rate} : {vat})\n\n\
                 Suivre votre commande : {link}\n\nMerci de votre confiance,\nL'équipe VIVR\n",
                number = order.number,
                subtotal = order.subtotal.display_fr(),
                shipping = order.shipping.display_fr(),
                total = order.total.display_fr(),
                rate = rate_display_fr(order.vat_rate_bp),
                vat = order.vat.display_fr(),
            ),
        ),
        OrderEmail::Shipped => (
            format!("VIVR : votre commande {} est expédiée", order.number),
            format!(
                "Bonjour,\n\nVotre commande {number} vient d'être expédiée.\n\n{lines}\n\
                 Suivre votre commande : {link}\n\nÀ bientôt,\nL'équipe VIVR\n",
                number = order.number,
            ),
        ),
    };
    Outgoing {
        subject,
        body,
        unsubscribe: None,
    }
}

#[cfg(test)]
mod tests {
    use super::transport_url;

    #[test]
    fn plain_smtp_means_starttls_unless_tls_none() {
        assert_eq!(transport_url("smtp://h:587"), "smtp://h:587?tls=required");
        assert_eq!(transport_url("smtp://h:25?tls=none"), "smtp://h:25");
        assert_eq!(
            transport_url("smtp://h?tls=opportunistic"),
            "smtp://h?tls=opportunistic"
        );
        assert_eq!(transport_url("smtps://u:p@h:465"), "smtps://u:p@h:465");
    }
}
