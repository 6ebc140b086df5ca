//! Real servers for the tests, as child processes on free ports of
//! 127.0.0.1: each test starts its own and the server ends with the value
//! that owns it (also when the test fails).
//!
//! A server whose program is missing is a loud skip outside CI and a
//! failure under CI (`CI` set): `.ci/run` installs them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The path of `program` on `PATH` (or in the sbin folders, where Debian
/// puts nginx), or `None`, said loudly, when the test is to be skipped.
///
/// # Panics
///
/// Under CI, when the program is missing.
pub fn program_or_skip(program: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: install Debian's {package}"
        );
        eprintln!("SKIPPED: no {program} found (apt-get install {package}); CI runs this test");
    }
    found
}

/// A free TCP port of 127.0.0.1 (free when asked: the caller binds it
/// right away).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// Waits until something accepts connections on `addr`, for at most `limit`.
///
/// # Panics
///
/// If nothing does in time.
pub fn wait_for_port(addr: SocketAddr, limit: Duration) {
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < limit,
            "nothing listens on {addr} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A temporary folder, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty folder under the system's temporary folder.
    pub fn new(name: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        ChildGuard(Some(child))
    }

    /// The process id, while it runs.
    pub fn id(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    /// Kills the process now and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (by name, as `kill -s` takes it: `STOP`, `CONT`,
    /// `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let id = self.id().expect("the process runs").to_string();
        let status = Command::new("kill")
            .args(["-s", signal, &id])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {id}");
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `redis-server` of its own for one test.
#[derive(Debug)]
pub struct RedisServer {
    program: PathBuf,
    port: u16,
    persistent: bool,
    dir: TempDir,
    child: ChildGuard,
}

impl RedisServer {
    /// Starts one that keeps nothing on disk: a restart loses its data.
    /// `None` (said loudly) outside CI when `redis-server` is missing.
    pub fn start() -> Option<RedisServer> {
        Self::start_with(false)
    }

    /// Starts one that writes every change to its append-only file before
    /// answering: a restart loses nothing.
    pub fn start_persistent() -> Option<RedisServer> {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Option<RedisServer> {
        let program = program_or_skip("redis-server", "redis-server")?;
        let port = free_port();
        let dir = TempDir::new("sse-redis");
        let child = Self::spawn(&program, port, persistent, dir.path());
        Some(RedisServer {
            program,
            port,
            persistent,
            dir,
            child,
        })
    }

    fn spawn(program: &Path, port: u16, persistent: bool, dir: &Path) -> ChildGuard {
        let mut command = Command::new(program);
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--daemonize", "no", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let child = ChildGuard::new(command.spawn().expect("start redis-server"));
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(10),
        );
        child
    }

    /// Its URL, `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills it: connections are refused until [`start_again`](Self::start_again).
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Starts it again on the same port (with its data if persistent).
    pub fn start_again(&mut self) {
        self.child.kill();
        self.child = Self::spawn(&self.program, self.port, self.persistent, self.dir.path());
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) it: a hung server keeps
    /// its connections open and answers nothing.
    pub fn pause(&self, paused: bool) {
        self.child.signal(if paused { "STOP" } else { "CONT" });
    }

    /// Runs a command with `redis-cli` and returns what it printed.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        assert!(output.status.success(), "redis-cli {args:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.child.kill();
    }
}

/// Headless Chromium's program, or `None` (said loudly) outside CI when
/// there is none.
///
/// # Panics
///
/// Under CI, when there is none.
pub fn chromium_or_skip() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let ok = Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| PathBuf::from(name))
        })
        .or_else(|| program_or_skip("chromium", "chromium"))
}

/// A headless Chromium showing one page, with a profile of its own (a
/// second launch on one profile would be handed to the first); closed and
/// its profile removed when dropped.
#[derive(Debug)]
pub struct Browser {
    child: ChildGuard,
    _profile: TempDir,
}

impl Browser {
    /// Opens `url` in `chromium` (from [`chromium_or_skip`]), with the
    /// flags this machine needs: no sandbox as root, and no background
    /// networking (this machine reaches no other host).
    pub fn open(chromium: &Path, url: &str) -> Browser {
        let profile = TempDir::new("sse-browser");
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium did not start");
        Browser {
            child: ChildGuard::new(child),
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.child.kill();
    }
}

/// An `nginx` of its own for one test, in the foreground (the template
/// says `daemon off;`), with its files in a temporary folder.
#[derive(Debug)]
pub struct Nginx {
    port: u16,
    dir: TempDir,
    _child: ChildGuard,
}

impl Nginx {
    /// Starts nginx with the configuration `template`, where `{port}` is
    /// replaced by the port it is to listen on (127.0.0.1) and `{dir}` by
    /// its own folder (for its pid, logs and temporary files, and files to
    /// serve or include, which `prepare` writes there first). `None` (said
    /// loudly) outside CI when nginx is missing.
    pub fn start(template: &str, prepare: impl FnOnce(&Path)) -> Option<Nginx> {
        let program = program_or_skip("nginx", "nginx")?;
        let port = free_port();
        let dir = TempDir::new("sse-nginx");
        prepare(dir.path());
        let config = template
            .replace("{port}", &port.to_string())
            .replace("{dir}", &dir.path().display().to_string());
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).expect("write nginx.conf");
        let child = Command::new(program)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let child = ChildGuard::new(child);
        wait_for_port(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(10),
        );
        Some(Nginx {
            port,
            dir,
            _child: child,
        })
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its folder (`{dir}` in the configuration).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
