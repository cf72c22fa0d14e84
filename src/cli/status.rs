//! `titra status`: the pump daemon's status over D-Bus.

use std::process::ExitCode;

pub(crate) fn run_status(bus: &str, json: bool) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("internal error: {e}");
            return ExitCode::from(1);
        }
    };
    let result: anyhow::Result<String> = runtime.block_on(async {
        let conn = crate::service::dbus::bus_builder(bus).build().await?;
        let proxy = crate::service::dbus::Pump1Proxy::new(&conn).await?;
        Ok(proxy.status_json().await?)
    });
    match result {
        Ok(text) if json => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(text) => match serde_json::from_str::<crate::service::wire::Status>(&text) {
            Ok(s) => {
                print!("{}", crate::service::wire::render_status(&s));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("The pump answered something this version cannot read: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("Cannot reach the pump daemon (org.titra.Pump1 on the {bus} bus): {e}");
            ExitCode::from(1)
        }
    }
}
