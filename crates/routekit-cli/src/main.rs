//! `routekit`: new projects, the route table, and (as they land) the dev loop and auth
//! administration. Errors are one line on standard error and a non-zero exit code.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use routekit_cli::new::{Source, Template};
use routekit_cli::term::Style;

/// The routekit command: file-based JSON APIs in Rust.
#[derive(Parser)]
#[command(name = "routekit", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new project into DIR (which must be empty or missing)
    New(NewArgs),
    /// Build and serve the project, rebuilding on every save without dropping the server
    ///
    /// The old server keeps serving while the new one builds; a failed build shows its
    /// errors here and over the app's HTML pages until the next good one.
    #[cfg(unix)]
    Dev(DevArgs),
    /// Print the route table of the project, without building or starting it
    Routes(RoutesArgs),
    /// Administer users, sessions and signing keys in the app's database
    ///
    /// Reads the app's settings from the environment as the app does: DATABASE_URL (default
    /// sqlite://data/auth.db, relative to the folder it runs in), ROUTEKIT_AUTH_SITE_URL and
    /// the other ROUTEKIT_AUTH_* variables.
    Auth(AuthArgs),
}

#[derive(Args)]
struct AuthArgs {
    /// Print JSON (GoTrue's user objects) instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AuthCommand,
}

#[derive(Subcommand)]
enum AuthCommand {
    /// Users: list, show, create, delete, ban, unban, set-role
    #[command(subcommand)]
    Users(UsersCommand),
    /// Sessions: revoke
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Signing keys: rotate
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print a service-role key: a token for the admin API (auth.admin.* in supabase-js)
    ///
    /// It is as powerful as the database: keep it on servers, out of logs and browsers.
    ServiceKey {
        /// How long it is valid: 90s, 30m, 24h, 365d
        #[arg(long, default_value = "24h", value_parser = routekit_cli::auth::parse_ttl)]
        ttl: std::time::Duration,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// List users, newest first
    List {
        /// The page, from 1
        #[arg(long, default_value_t = 1)]
        page: u64,
        /// Users per page, from 1 to 1000
        #[arg(long, default_value_t = 50)]
        per_page: u64,
    },
    /// Show one user (by id or e-mail address)
    Show {
        /// An id or an e-mail address
        user: String,
    },
    /// Create a user, confirmed, with no mail sent
    Create {
        /// The e-mail address
        email: String,
        /// Read the password from the first line of standard input (else the user signs in
        /// by link or code)
        #[arg(long)]
        password_stdin: bool,
        /// Set app_metadata.role (what `Auth::Role` routes check)
        #[arg(long)]
        role: Option<String>,
        /// Leave the address unconfirmed
        #[arg(long)]
        unconfirmed: bool,
    },
    /// Delete a user with their sessions and factors
    Delete {
        /// An id or an e-mail address
        user: String,
    },
    /// Ban a user: no sign-in, no refresh, live sessions stop
    Ban {
        /// An id or an e-mail address
        user: String,
        /// How long, as GoTrue's ban_duration: 24h, 30m (default: 100 years)
        #[arg(long = "for", value_name = "DURATION", default_value = "876000h")]
        duration: String,
    },
    /// Lift a ban
    Unban {
        /// An id or an e-mail address
        user: String,
    },
    /// Set or clear app_metadata.role
    SetRole {
        /// An id or an e-mail address
        user: String,
        /// The role, such as super-admin
        #[arg(required_unless_present = "clear")]
        role: Option<String>,
        /// Remove the role instead
        #[arg(long, conflicts_with = "role")]
        clear: bool,
    },
}

#[derive(Subcommand)]
enum SessionsCommand {
    /// Sign a user out everywhere
    Revoke {
        /// An id or an e-mail address
        user: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new signing key; the old one verifies until its tokens expire
    Rotate,
}

#[derive(Args)]
struct NewArgs {
    /// The folder to create
    dir: PathBuf,
    /// Routes only: no auth server, no database, `default-features = false`
    #[arg(long)]
    api: bool,
    /// The package name (default: the folder's name)
    #[arg(long)]
    name: Option<String>,
    /// Take routekit from this checkout (default: the one this command was built from)
    #[arg(long, value_name = "DIR", conflicts_with_all = ["routekit_version", "git"])]
    path: Option<PathBuf>,
    /// Take routekit from crates.io at this version requirement
    #[arg(long, value_name = "VERSION", conflicts_with = "git")]
    routekit_version: Option<String>,
    /// Take routekit from this git repository
    #[arg(long, value_name = "URL")]
    git: Option<String>,
    /// With --git: this branch
    #[arg(long, requires = "git", conflicts_with_all = ["tag", "rev"])]
    branch: Option<String>,
    /// With --git: this tag
    #[arg(long, requires = "git", conflicts_with = "rev")]
    tag: Option<String>,
    /// With --git: this commit
    #[arg(long, requires = "git")]
    rev: Option<String>,
}

#[cfg(unix)]
#[derive(Args)]
struct DevArgs {
    /// The project folder
    #[arg(short = 'C', long = "dir", value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The address to listen on [default: $HOST or 127.0.0.1]
    #[arg(long)]
    host: Option<String>,
    /// The port to listen on; 0 picks a free one [default: $PORT or 3000]
    #[arg(long)]
    port: Option<u16>,
    /// The binary to run, when the package has several
    #[arg(long)]
    bin: Option<String>,
}

#[derive(Args)]
struct RoutesArgs {
    /// The project folder
    #[arg(short = 'C', long = "dir", value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Print JSON for tools instead of the table
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::New(args) => new(args),
        #[cfg(unix)]
        Command::Dev(args) => dev(args),
        Command::Routes(args) => routes(args),
        Command::Auth(args) => auth(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let style = Style::stderr();
            eprintln!("{} {message}", style.error("error:"));
            ExitCode::FAILURE
        }
    }
}

fn out(text: &str) -> Result<(), String> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

fn new(args: NewArgs) -> Result<(), String> {
    let source = if let Some(version) = args.routekit_version {
        Source::Version(version)
    } else if let Some(url) = args.git {
        let reference = args
            .branch
            .map(|b| ("branch", b))
            .or(args.tag.map(|t| ("tag", t)))
            .or(args.rev.map(|r| ("rev", r)));
        Source::Git { url, reference }
    } else if let Some(path) = args.path {
        let path = path
            .canonicalize()
            .map_err(|e| format!("--path {}: {e}", path.display()))?;
        if !path.join("crates/routekit/Cargo.toml").is_file() {
            return Err(format!(
                "--path {}: not a routekit checkout (no crates/routekit/Cargo.toml)",
                path.display()
            ));
        }
        Source::Path(path)
    } else {
        Source::this_checkout().ok_or(
            "the routekit checkout this command was built from is gone; pass --path <checkout>, \
             --routekit-version <version> or --git <url>",
        )?
    };
    let template = if args.api {
        Template::Api
    } else {
        Template::Full
    };
    let created = routekit_cli::new::scaffold(&args.dir, args.name.as_deref(), template, &source)?;
    let style = Style::stdout();
    let dir = args.dir.display();
    out(&format!(
        "{} {} in {dir} ({} files)\n\n  cd {dir}\n  routekit dev      {}\n",
        style.success("created"),
        created.name,
        created.files.len(),
        style.dim("# or: cargo run, then open http://127.0.0.1:3000"),
    ))
}

fn routes(args: RoutesArgs) -> Result<(), String> {
    let report = routekit_cli::routes::read(&args.dir).map_err(|e| {
        // The build's diagnostics: several lines, each naming a file; keep the first line
        // as the error and print the rest as they are.
        let text = e.to_string();
        text.trim_start_matches("error: ").trim_end().to_owned()
    })?;
    if args.json {
        let text = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
        out(&format!("{text}\n"))
    } else {
        out(&report.text(Style::stdout()))
    }
}

fn auth(args: AuthArgs) -> Result<(), String> {
    use routekit_cli::auth::Command as C;
    let command = match args.command {
        AuthCommand::Users(UsersCommand::List { page, per_page }) => {
            C::ListUsers { page, per_page }
        }
        AuthCommand::Users(UsersCommand::Show { user }) => C::ShowUser(user),
        AuthCommand::Users(UsersCommand::Create {
            email,
            password_stdin,
            role,
            unconfirmed,
        }) => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
                let line = line.trim_end_matches(['\n', '\r']).to_owned();
                if line.is_empty() {
                    return Err("--password-stdin: standard input held no password".to_owned());
                }
                Some(line)
            } else {
                None
            };
            C::CreateUser {
                email,
                password,
                role,
                unconfirmed,
            }
        }
        AuthCommand::Users(UsersCommand::Delete { user }) => C::DeleteUser(user),
        AuthCommand::Users(UsersCommand::Ban { user, duration }) => C::BanUser { user, duration },
        AuthCommand::Users(UsersCommand::Unban { user }) => C::UnbanUser(user),
        AuthCommand::Users(UsersCommand::SetRole { user, role, clear }) => C::SetRole {
            user,
            role: if clear { None } else { role },
        },
        AuthCommand::Sessions(SessionsCommand::Revoke { user }) => C::RevokeSessions(user),
        AuthCommand::Keys(KeysCommand::Rotate) => C::RotateKeys,
        AuthCommand::ServiceKey { ttl } => C::ServiceKey { ttl },
    };
    let config = routekit_auth::AuthConfig::from_env().map_err(|e| e.to_string())?;
    routekit_cli::auth::check_database(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let text = runtime.block_on(routekit_cli::auth::run(config, &command, args.json))?;
    out(&text)
}

#[cfg(unix)]
fn dev(args: DevArgs) -> Result<(), String> {
    let host = args
        .host
        .or_else(|| std::env::var("HOST").ok())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = match args.port {
        Some(port) => port,
        None => match std::env::var("PORT") {
            Ok(port) => port
                .parse()
                .map_err(|_| format!("PORT must be a number from 0 to 65535, not {port:?}"))?,
            Err(_) => 3000,
        },
    };
    let ip: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("--host must be an IP address, not {host:?}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(routekit_cli::dev::run(routekit_cli::dev::Options {
        dir: args.dir,
        addr: std::net::SocketAddr::new(ip, port),
        bin: args.bin,
        debounce: std::time::Duration::from_millis(50),
    }))
}
