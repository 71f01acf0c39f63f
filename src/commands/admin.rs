//! `vivr admin create` and `vivr admin promote`: the first administrator, without going through the shop.

use std::io::Read;

use anyhow::{Context, bail};
use secrecy::SecretString;
use vivr_shop::config::redact_url;
use vivr_shop::domain::{Email, Role};
use vivr_shop::services::accounts::{Registration, register_user};
use vivr_shop::store::{PoolOptions, connect};

use crate::cli::{DatabaseArgs, Format};
use crate::exit::Outcome;
use crate::migrate;
use crate::output::{Ctx, Report};
use serde::Serialize;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create an administrator account. In a terminal the password is asked twice, without echo; piped, it is
    /// read from standard input.
    Create(CreateArgs),
    /// Give an existing account the ADMIN role.
    Promote(PromoteArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The administrator's email (their sign-in).
    #[arg(long)]
    pub email: String,
    /// The name shown in the shop.
    #[arg(long)]
    pub name: Option<String>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The email of the existing account to promote.
    pub email: String,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The administrator account created or promoted.
#[derive(Debug, Serialize)]
pub struct Administrator {
    email: String,
    result: Done,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
enum Done {
    Created,
    Promoted,
}

impl Report for Administrator {
    fn text(&self) -> String {
        match self.result {
            Done::Created => format!("administrator {} created\n", self.email),
            Done::Promoted => format!("{} promoted: now an administrator\n", self.email),
        }
    }
}

/// The new administrator's password: asked twice without echo in a terminal, else the first line of stdin.
fn read_password() -> anyhow::Result<SecretString> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password for the new administrator: ")
            .context("reading the password from the terminal")?;
        let second =
            rpassword::prompt_password("Same password again: ").context("reading the password")?;
        if first != second {
            bail!("the two passwords differ; nothing was created");
        }
        return Ok(SecretString::from(first));
    }
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    Ok(SecretString::from(
        password.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

async fn open(url: &str) -> anyhow::Result<Box<dyn vivr_shop::store::Store>> {
    let mut db = migrate::connect(url).await?;
    let migrations = migrate::embedded(db.backend());
    let status = migrate::status(&mut db, &migrations).await?;
    if !status.is_up_to_date() {
        bail!(
            "the database at {} is not migrated (pending: {}); run `vivr serve --migrate` first",
            redact_url(url),
            status.pending.join(", ")
        );
    }
    connect(
        url,
        &PoolOptions {
            max_connections: 2,
            ..PoolOptions::default()
        },
    )
    .await
    .context("connecting to the database")
}

pub async fn run(command: Command, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match command {
        Command::Create(args) => {
            let password = read_password()?;
            let store = open(&args.db.database_url).await?;
            let registration = Registration {
                email: args.email,
                password,
                name: args.name,
            };
            let user = register_user(
                store.as_ref(),
                &vivr_shop::auth::Passwords::new(1, 1),
                registration,
                Role::Admin,
            )
            .await
            .context("creating the administrator")?;
            let report = Administrator {
                email: user.email,
                result: Done::Created,
            };
            ctx.emit(&report, args.format)
        }
        Command::Promote(args) => {
            let email = Email::parse("email", &args.email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open(&args.db.database_url).await?;
            let user = store
                .set_role(email.as_str(), Role::Admin, vivr_shop::auth::now())
                .await
                .map_err(|e| match e {
                    vivr_shop::store::StoreError::NotFound => {
                        anyhow::anyhow!("no account with email {email}")
                    }
                    other => anyhow::Error::new(other),
                })?;
            let report = Administrator {
                email: user.email,
                result: Done::Promoted,
            };
            ctx.emit(&report, args.format)
        }
    }
}
