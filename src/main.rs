//! The `flaskpaste` server binary: configuration from the environment, then [`server::run`].

use std::process::ExitCode;

use flaskpaste::config::{Config, ConfigError};
use flaskpaste::{server, telemetry};

fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(ConfigError::Invalid(err)) => {
            // clap formats the message (naming the variable) and knows `--help` from a mistake.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server stopped with an error");
            ExitCode::FAILURE
        }
    }
}
