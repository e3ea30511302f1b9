//! The `smartstorage` binary: CLI, config, management IPC and wiring.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("not wired yet")
}
