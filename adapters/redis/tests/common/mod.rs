//! A real `redis-server` on loopback for the tests, started on a free port and killed on
//! drop.
//!
//! Without `redis-server` on the `PATH` the tests say so plainly and pass, unless
//! `RPKIT_REQUIRE_REDIS=1` (as in CI), where they fail.
//!
//! redis-server rewrites its process title to `redis-server 127.0.0.1:PORT`, so no
//! pattern on its arguments finds a stray one later: when `RPKIT_TEST_PIDDIR` names a
//! directory, each server's pid is kept there while it runs (`.ci/run` kills what is
//! left, should a test binary die without unwinding).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

fn binary_found() -> bool {
    Command::new("redis-server").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

impl RedisServer {
    /// A fresh server, or `None` (after saying so) when `redis-server` is not installed
    /// and not required.
    pub fn start() -> Option<Self> {
        if !binary_found() {
            if std::env::var("RPKIT_REQUIRE_REDIS").as_deref() == Ok("1") {
                panic!("redis-server not found, and RPKIT_REQUIRE_REDIS=1: install it (Debian: apt-get install redis-server)");
            }
            println!("redis-server not found: these tests did not run");
            return None;
        }
        // A port free a moment ago; redis-server needs an explicit one.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        Some(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (its data is gone: it saves nothing).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused server must wake up to die.
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
            if let Some(file) = pid_file(child.id()) {
                let _ = std::fs::remove_file(file);
            }
        }
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing is answered, as
    /// with a hung Redis or a partitioned network; its data is kept.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a [paused](Self::pause) server answer again.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill").args([sig, &child.id().to_string()]).status().expect("run kill");
            assert!(status.success(), "kill {sig} failed");
        }
    }

    /// Starts the server again on the same port and waits until it answers `PING`.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start redis-server");
        if let Some(file) = pid_file(child.id()) {
            let _ = std::fs::write(file, child.id().to_string());
        }
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING within 10 s", self.port);
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 7];
        stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// Sends one command (inline protocol, arguments without spaces) and returns the
    /// raw reply: for checking the key layout from outside the store.
    pub fn command(&self, line: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // A reply fits one read here; stop at the read timeout otherwise.
        if let Ok(n) = stream.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn pid_file(pid: u32) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("RPKIT_TEST_PIDDIR")?;
    Some(std::path::Path::new(&dir).join(format!("redis-server.{pid}")))
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
