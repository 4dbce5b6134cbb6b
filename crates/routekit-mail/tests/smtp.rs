//! The SMTP client against a real SMTP server on 127.0.0.1:0.

use std::time::{Duration, Instant};

use routekit_mail::{Email, MailError, Smtp, SmtpConfig, TlsMode};
use routekit_test::{SmtpSink, closed_port};

fn email() -> Email {
    Email {
        to: "ann@example.com".into(),
        subject: "Confirm your signup – ünïcode".into(),
        html: "<p><a href=\"http://127.0.0.1/verify?token=abc&amp;type=signup\">Confirm</a></p>"
            .into(),
        text: format!(
            "Confirm: http://127.0.0.1/verify?token=abc&type=signup&redirect_to={}\nCode: 123456\n",
            "x".repeat(120)
        ),
    }
}

fn config(port: u16) -> SmtpConfig {
    SmtpConfig::new("127.0.0.1", port, "no-reply@example.com")
        .with_tls(TlsMode::None)
        .with_sender_name("Routekit")
}

#[tokio::test]
async fn a_mail_arrives_with_both_parts_decoded() {
    let sink = SmtpSink::start().await;
    let smtp = Smtp::new(&config(sink.port())).unwrap();
    smtp.send(&email()).await.unwrap();
    let mail = sink.last_to("ann@example.com").expect("delivered");
    assert_eq!(mail.from, "no-reply@example.com");
    assert_eq!(mail.subject(), "Confirm your signup – ünïcode");
    assert_eq!(mail.text(), email().text.replace('\n', "\r\n"));
    assert!(mail.html().contains("token=abc&amp;type=signup"));
    assert!(mail.link().unwrap().ends_with(&"x".repeat(120)));
    assert_eq!(mail.code().as_deref(), Some("123456"));
    // The pooled connection serves a second mail.
    smtp.send(&email()).await.unwrap();
    assert_eq!(sink.mails_to("ann@example.com").len(), 2);
}

#[tokio::test]
async fn a_slow_server_costs_no_more_than_the_timeout() {
    let sink = SmtpSink::start().await;
    sink.set_delay(Duration::from_secs(5));
    let smtp = Smtp::new(&config(sink.port()).with_timeout(Duration::from_millis(300))).unwrap();
    let started = Instant::now();
    let err = smtp.send(&email()).await.unwrap_err();
    assert_eq!(err, MailError::Timeout(Duration::from_millis(300)));
    // The deadline is the timeout itself; the margin covers a loaded machine.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_retried_until_the_deadline_then_reported() {
    let port = closed_port().await;
    let smtp = Smtp::new(&config(port).with_timeout(Duration::from_millis(500))).unwrap();
    let started = Instant::now();
    let err = smtp.send(&email()).await.unwrap_err();
    assert!(matches!(err, MailError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bad_addresses_are_refused_before_connecting() {
    let smtp = Smtp::new(&config(closed_port().await)).unwrap();
    let mut bad = email();
    bad.to = "not an address".into();
    assert!(matches!(smtp.send(&bad).await, Err(MailError::Address(_))));
    let mut config = config(25);
    config.admin_email = "nobody".into();
    assert!(matches!(Smtp::new(&config), Err(MailError::Address(_))));
}
