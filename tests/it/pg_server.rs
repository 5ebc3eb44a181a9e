//! A throwaway PostgreSQL server for the tests of SQL sources: `initdb`
//! into a temporary folder, `pg_ctl` on a free loopback port, a login with
//! a password; stopped and removed when dropped. As root (CI containers)
//! the server runs as the `postgres` user, since PostgreSQL refuses root.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The user and password the tests log in with.
pub(crate) const USER: &str = "reader";
pub(crate) const PASSWORD: &str = "s3cret-Pw";

/// A running server.
pub(crate) struct PgServer {
    dir: PathBuf,
    bin: PathBuf,
    pub(crate) port: u16,
    running: bool,
}

/// The folder of `initdb` and `pg_ctl`: on the PATH, or Debian's
/// `/usr/lib/postgresql/N/bin` (the newest).
fn bin_dir() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() {
                return Some(d);
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as the `postgres` user when running as root.
fn command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn check(what: &str, o: Output) -> Output {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A port nobody listens on now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgServer {
    /// Starts a server, or says on the terminal why the test skips
    /// (`None`) when PostgreSQL is not installed.
    pub(crate) fn start(test: &str) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            eprintln!(
                "\nskipping {test}: PostgreSQL (initdb, pg_ctl) is not installed; `.ci/run` installs it\n"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "sa-pg-{}-{}",
            std::process::id(),
            test.replace(':', "_")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if is_root() {
            check(
                "chown",
                Command::new("chown")
                    .args(["-R", "postgres"])
                    .arg(&dir)
                    .output()
                    .unwrap(),
            );
        }
        let data = dir.join("data");
        check(
            "initdb",
            command(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    USER,
                    "--auth=scram-sha-256",
                    "--locale=C",
                    "--encoding=UTF8",
                    "--no-sync",
                ])
                .arg(format!("--pwfile={}", pwfile.display()))
                .output()
                .unwrap(),
        );
        let port = free_port();
        let mut server = Self {
            dir,
            bin,
            port,
            running: false,
        };
        let log = server.dir.join("log");
        check(
            "pg_ctl start",
            command(&server.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                    server.dir.display()
                ))
                .args(["-w", "start"])
                .output()
                .unwrap(),
        );
        server.running = true;
        Some(server)
    }

    /// The folder of the server's programs (`psql` among them).
    pub(crate) fn bin(&self) -> &Path {
        &self.bin
    }

    /// The URL of database `postgres` with `password`.
    pub(crate) fn url(&self, password: &str) -> String {
        format!(
            "postgresql://{USER}:{password}@127.0.0.1:{}/postgres",
            self.port
        )
    }

    /// Runs the SQL of `file` (through the `postgres` crate).
    pub(crate) fn run_file(&self, file: &Path) {
        let mut client = postgres::Client::connect(&self.url(PASSWORD), postgres::NoTls).unwrap();
        client
            .batch_execute(&std::fs::read_to_string(file).unwrap())
            .unwrap();
    }

    /// Stops the server (the folder stays until drop).
    pub(crate) fn stop(&mut self) {
        if self.running {
            let _ = command(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "stop"])
                .output();
            self.running = false;
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
