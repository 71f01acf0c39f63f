//! The certificates Stripe and SMTP connections trust: Mozilla's roots compiled in, plus the extra ones the shop
//! is given — which `vivr serve` reads from `SSL_CERT_FILE` (a private CA, a TLS-inspecting proxy). Servers on
//! loopback present a certificate signed by a test CA: refused without the CA, reached with it. (The AWS
//! clients and PostgreSQL are tested the same way inside the image, in `build_cli`.)

use std::time::{Duration, Instant};

use secrecy::SecretString;
use vivr_shop::mail::{MailConfig, Mailer, Outgoing};
use vivr_shop::payments::StripeConfig;
use vivr_shop::payments::stripe::{StripeClient, StripeError};

use crate::common::process::{Vivr, http};
use crate::common::tls::{SmtpServer, SmtpTls, TlsEndpoint, der, test_ca};
use crate::common::{TestDb, tls};

#[tokio::test]
async fn stripe_trusts_the_extra_roots_it_is_given_and_no_unknown_ca() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(pki.path());
    let endpoint = TlsEndpoint::start(&cert, &key);
    let config = StripeConfig {
        secret_key: SecretString::from("sk_test_OutboundTlsKey".to_string()),
        publishable_key: "pk_test_outbound".into(),
        webhook_secrets: Vec::new(),
        api_base: format!("https://localhost:{}", endpoint.port),
    };

    let refused = StripeClient::new(config.clone(), &[])
        .unwrap()
        .retrieve_payment_intent("pi_123")
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, StripeError::Transport(m) if m.contains("certificate")),
        "a certificate error that says so: {refused}"
    );

    let reached = StripeClient::new(config, &[der(&ca)])
        .unwrap()
        .retrieve_payment_intent("pi_123")
        .await
        .unwrap_err();
    assert!(
        matches!(&reached, StripeError::Api { message, .. } if message.contains("ReachedOverTls")),
        "the endpoint's own answer: {reached}"
    );
}

#[tokio::test]
async fn smtp_with_implicit_tls_or_starttls_trusts_the_extra_roots_it_is_given() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(pki.path());
    let email = Outgoing {
        subject: "Commande VIVR-TLS".into(),
        body: "Merci".into(),
        unsubscribe: None,
    };
    for (tls, scheme) in [(SmtpTls::Implicit, "smtps"), (SmtpTls::StartTls, "smtp")] {
        let server = SmtpServer::start(&cert, &key, tls);
        let config = MailConfig {
            smtp_url: SecretString::from(format!("{scheme}://localhost:{}", server.port)),
            from: "VIVR <boutique@vivr.example>".into(),
        };
        let refused = Mailer::new(Some(&config), &[])
            .unwrap()
            .send("client@vivr.example", &email)
            .await;
        assert!(refused.is_err(), "{tls:?}: sent without trusting the CA");
        assert_eq!(server.received(), "", "{tls:?}");

        let sent = Mailer::new(Some(&config), &[der(&ca)])
            .unwrap()
            .send("client@vivr.example", &email)
            .await;
        assert!(sent.is_ok(), "{tls:?}: {sent:?}");
        assert!(
            server.received().contains("Commande VIVR-TLS"),
            "{tls:?}: {}",
            server.received()
        );
    }
}

/// Subscribes `email` to the newsletter through the JSON API (the shop queues a confirmation email).
fn subscribe(vivr: &Vivr, email: &str) {
    let body = serde_json::json!({ "email": email }).to_string();
    let answer = http(
        vivr.addr,
        "POST",
        "/api/v1/newsletter",
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
}

#[test]
fn serve_sends_mail_through_a_relay_whose_ca_ssl_cert_file_names() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, cert, key) = tls::test_ca(pki.path());
    let server = SmtpServer::start(&cert, &key, SmtpTls::Implicit);
    let url = format!("smtps://localhost:{}", server.port);
    let mail = [
        ("VIVR_SMTP_URL", url.as_str()),
        ("VIVR_MAIL_FROM", "boutique@vivr.example"),
    ];
    let wait_for = |what: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };

    // Without the CA: the relay's certificate is refused, nothing is delivered, and the log says why.
    let db = TestDb::sqlite();
    let vivr = Vivr::serve_env(&["--database-url", &db.url], &mail);
    subscribe(&vivr, "sans-ca@vivr.example");
    assert!(
        wait_for(&|| vivr.log().contains("certificate")),
        "a certificate error in the log:\n{}",
        vivr.log()
    );
    assert_eq!(server.received(), "");
    drop(vivr);

    // SSL_CERT_FILE names the CA: the same email goes through.
    let ca_file = ca.display().to_string();
    let mut env = mail.to_vec();
    env.push(("SSL_CERT_FILE", &ca_file));
    let db = TestDb::sqlite();
    let vivr = Vivr::serve_env(&["--database-url", &db.url], &env);
    subscribe(&vivr, "avec-ca@vivr.example");
    assert!(
        wait_for(&|| server.received().contains("avec-ca@vivr.example")),
        "delivered:\n{}\n{}",
        server.received(),
        vivr.log()
    );
}
