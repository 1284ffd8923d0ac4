//! What a command does to the store's files, recorded with strace: the
//! power-cut campaign's input. Each system call that changes a file of
//! the store (create, write, truncate, rename, unlink, mkdir, rmdir) or
//! makes changes durable (fsync, fdatasync, syncfs) becomes an [`Op`], in
//! the order the calls returned. A 2xx HTTP answer written to a TCP
//! connection becomes [`Op::Acknowledged`], with the client's port.
//!
//! SQLite's `-shm` file is left out: it is never synced, and SQLite
//! rebuilds it from the WAL after a crash.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub type Inode = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Mkdir(String),
    /// A new file, at `path`.
    Create {
        path: String,
        inode: Inode,
    },
    Write {
        inode: Inode,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        inode: Inode,
        length: u64,
    },
    Rename {
        from: String,
        to: String,
    },
    Unlink(String),
    Rmdir(String),
    /// fsync or fdatasync of a file: its contents are durable.
    SyncFile(Inode),
    /// fsync of a directory: its entries are durable.
    SyncDir(String),
    /// syncfs: everything before it is durable.
    SyncAll,
    /// What a client was told was stored: a 2xx answer sent to the HTTP
    /// client on this local port, or (port 0, added by the harness) a
    /// command that exited 0.
    Acknowledged(u16),
}

impl Op {
    pub fn is_sync(&self) -> bool {
        matches!(self, Op::SyncFile(_) | Op::SyncDir(_) | Op::SyncAll)
    }
}

/// A file or a directory of the store, as the recorder follows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    File(Inode),
    Dir,
}

/// The system calls the recorder reads.
const TRACED: &str = "trace=open,openat,creat,write,pwrite64,writev,sendto,lseek,ftruncate,\
rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,fsync,fdatasync,syncfs,\
close,fcntl,dup,dup2,dup3";

/// A command started under strace, its trace written to `trace`.
pub fn spawn(command: &mut Command, trace: &Path) -> Child {
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|arg| arg.to_owned()).collect();
    Command::new("strace")
        .args(["-f", "-qq", "-yy", "-xx", "-s", "100000000", "-e", TRACED])
        .args(["-e", "signal=none", "-o"])
        .arg(trace)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run strace (install it: Debian's `strace`): {e}"))
}

/// The process strace started (strace's `pid`), once it has started.
pub fn traced_child(pid: u32) -> i32 {
    let children = format!("/proc/{pid}/task/{pid}/children");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed = std::fs::read_to_string(&children).unwrap_or_default();
        if let Some(child) = listed.split_whitespace().next() {
            return child.parse().unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "strace started nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// An open file description, as far as the store's files go.
#[derive(Debug, Clone)]
struct Open {
    node: Option<Node>,
    position: u64,
    append: bool,
}

/// Turns traces into operations, following the store's names and files
/// from one command to the next.
pub struct Recorder {
    root: String,
    names: BTreeMap<String, Node>,
    sizes: HashMap<Inode, u64>,
    next_inode: Inode,
    ops: Vec<Op>,
}

impl Recorder {
    /// A recorder for the store at `root` (an absolute path without
    /// symbolic links), whose names and file sizes are those given.
    pub fn new(root: &str, names: BTreeMap<String, Node>, sizes: HashMap<Inode, u64>) -> Recorder {
        let next_inode = sizes.keys().max().map_or(1, |inode| inode + 1);
        Recorder {
            root: root.to_owned(),
            names,
            sizes,
            next_inode,
            ops: Vec::new(),
        }
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Marks what came before as acknowledged (a command exited 0).
    pub fn acknowledge(&mut self) {
        self.ops.push(Op::Acknowledged(0));
    }

    /// Adds what one run's trace shows.
    pub fn read(&mut self, trace: &str) {
        let mut fds: HashMap<i64, Open> = HashMap::new();
        let mut unfinished: HashMap<&str, String> = HashMap::new();
        for line in trace.lines() {
            let Some((pid, rest)) = line.split_once(' ') else {
                continue;
            };
            let rest = rest.trim_start();
            let call = if let Some(start) = rest.strip_suffix(" <unfinished ...>") {
                unfinished.insert(pid, start.to_owned());
                continue;
            } else if let Some(resumed) = rest.strip_prefix("<... ") {
                let (_, tail) = resumed
                    .split_once(" resumed>")
                    .unwrap_or_else(|| panic!("strace: {line}"));
                match unfinished.remove(pid) {
                    Some(start) => format!("{start}{tail}"),
                    None => continue,
                }
            } else {
                rest.to_owned()
            };
            if let Some(call) = Call::parse(&call) {
                self.apply(&mut fds, &call);
            }
        }
    }

    fn in_store(&self, path: &str) -> bool {
        (path == self.root || path.starts_with(&format!("{}/", self.root)))
            && !path.ends_with("-shm")
    }

    fn apply(&mut self, fds: &mut HashMap<i64, Open>, call: &Call) {
        if call.result < 0 {
            return;
        }
        let args = &call.args;
        match call.name.as_str() {
            "open" | "openat" | "creat" => {
                let (path, flags) = match call.name.as_str() {
                    "openat" => (resolve(&args[0], &args[1]), args[2].as_str()),
                    "open" => (resolve("", &args[0]), args[1].as_str()),
                    _ => (resolve("", &args[0]), "O_CREAT|O_TRUNC"),
                };
                self.open(fds, call.result, path, flags);
            }
            "write" | "pwrite64" | "writev" | "sendto" => {
                let data = match call.name.as_str() {
                    "writev" => iovec(&args[1]),
                    _ => string(&args[1]),
                };
                let data = &data[..(call.result as usize).min(data.len())];
                let offset = match call.name.as_str() {
                    "pwrite64" => Some(args[3].parse().unwrap()),
                    _ => None,
                };
                self.write(fds, &args[0], offset, data);
            }
            "lseek" => {
                if let Some(open) = fds.get_mut(&fd_number(&args[0])) {
                    open.position = call.result as u64;
                }
            }
            "ftruncate" => {
                if let Some(Node::File(inode)) = self.node_of(fds, &args[0]) {
                    let length = args[1].parse().unwrap();
                    self.sizes.insert(inode, length);
                    self.ops.push(Op::Truncate { inode, length });
                }
            }
            "rename" => self.rename(resolve("", &args[0]), resolve("", &args[1])),
            "renameat" | "renameat2" => {
                self.rename(resolve(&args[0], &args[1]), resolve(&args[2], &args[3]))
            }
            "unlink" => self.unlink(resolve("", &args[0]), false),
            "rmdir" => self.unlink(resolve("", &args[0]), true),
            "unlinkat" => self.unlink(
                resolve(&args[0], &args[1]),
                args[2].contains("AT_REMOVEDIR"),
            ),
            "mkdir" => self.mkdir(resolve("", &args[0])),
            "mkdirat" => self.mkdir(resolve(&args[0], &args[1])),
            "fsync" | "fdatasync" => match self.node_of(fds, &args[0]) {
                Some(Node::File(inode)) => self.ops.push(Op::SyncFile(inode)),
                Some(Node::Dir) => self.ops.push(Op::SyncDir(fd_path(&args[0]))),
                None => {}
            },
            "syncfs" if self.in_store(&fd_path(&args[0])) => self.ops.push(Op::SyncAll),
            "close" => {
                fds.remove(&fd_number(&args[0]));
            }
            "dup" | "dup2" | "dup3" | "fcntl"
                if call.name != "fcntl" || args[1].starts_with("F_DUPFD") =>
            {
                if let Some(open) = fds.get(&fd_number(&args[0])).cloned() {
                    fds.insert(call.result, open);
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, fds: &mut HashMap<i64, Open>, fd: i64, path: String, flags: &str) {
        if !self.in_store(&path) {
            fds.remove(&fd);
            return;
        }
        let node = match self.names.get(&path) {
            Some(node) => Some(*node),
            None if flags.contains("O_CREAT") => {
                let inode = self.next_inode;
                self.next_inode += 1;
                self.names.insert(path.clone(), Node::File(inode));
                self.sizes.insert(inode, 0);
                self.ops.push(Op::Create {
                    path: path.clone(),
                    inode,
                });
                Some(Node::File(inode))
            }
            None => None,
        };
        if let (Some(Node::File(inode)), true) = (node, flags.contains("O_TRUNC")) {
            self.sizes.insert(inode, 0);
            self.ops.push(Op::Truncate { inode, length: 0 });
        }
        let append = flags.contains("O_APPEND");
        fds.insert(
            fd,
            Open {
                node,
                position: 0,
                append,
            },
        );
    }

    /// What a descriptor argument refers to: the store's file or
    /// directory at the path strace showed beside it — the kernel's own
    /// answer at the time of the call, whereas the order in which a
    /// trace shows the threads' opens and closes need not be the order in
    /// which the kernel handed out their numbers — or, for a file removed
    /// since, what the descriptor was opened on.
    fn node_of(&self, fds: &HashMap<i64, Open>, arg: &str) -> Option<Node> {
        let path = fd_path(arg);
        match self.names.get(&path) {
            Some(node) if self.in_store(&path) => Some(*node),
            _ => fds.get(&fd_number(arg)).and_then(|open| open.node),
        }
    }

    fn write(&mut self, fds: &mut HashMap<i64, Open>, fd: &str, offset: Option<u64>, data: &[u8]) {
        if let Some(client) = tcp_peer_port(fd) {
            if data.starts_with(b"HTTP/1.1 2") {
                self.ops.push(Op::Acknowledged(client));
            }
            return;
        }
        let Some(Node::File(inode)) = self.node_of(fds, fd) else {
            return;
        };
        let open = fds
            .get_mut(&fd_number(fd))
            .filter(|open| open.node == Some(Node::File(inode)));
        let size = self.sizes.entry(inode).or_default();
        let at = match (offset, &open) {
            (Some(offset), _) => offset,
            (None, Some(open)) if !open.append => open.position,
            (None, _) => *size,
        };
        if let (None, Some(open)) = (offset, open) {
            open.position = at + data.len() as u64;
        }
        *size = (*size).max(at + data.len() as u64);
        self.ops.push(Op::Write {
            inode,
            offset: at,
            data: data.to_vec(),
        });
    }

    fn rename(&mut self, from: String, to: String) {
        if !self.in_store(&from) || !self.in_store(&to) {
            return;
        }
        let moved: Vec<(String, Node)> = self
            .names
            .range(from.clone()..)
            .take_while(|(path, _)| path.starts_with(&from))
            .filter(|(path, _)| **path == from || path[from.len()..].starts_with('/'))
            .map(|(path, node)| (path.clone(), *node))
            .collect();
        for (path, node) in moved {
            self.names.remove(&path);
            self.names
                .insert(format!("{to}{}", &path[from.len()..]), node);
        }
        self.ops.push(Op::Rename { from, to });
    }

    fn unlink(&mut self, path: String, directory: bool) {
        if self.in_store(&path) {
            self.names.remove(&path);
            self.ops.push(match directory {
                true => Op::Rmdir(path),
                false => Op::Unlink(path),
            });
        }
    }

    fn mkdir(&mut self, path: String) {
        if self.in_store(&path) {
            self.names.insert(path.clone(), Node::Dir);
            self.ops.push(Op::Mkdir(path));
        }
    }
}

/// One system call of the trace: its name, its arguments as strace
/// printed them, and its result.
struct Call {
    name: String,
    args: Vec<String>,
    result: i64,
}

impl Call {
    fn parse(text: &str) -> Option<Call> {
        let open = text.find('(')?;
        // strace pads short lines before ` = `.
        let equals = text.rfind(" = ")?;
        let call = text[..equals].trim_end().strip_suffix(')')?;
        let result = text[equals + 3..].split([' ', '<']).next()?.parse().ok()?;
        Some(Call {
            name: text[..open].to_owned(),
            args: split_arguments(&call[open + 1..]),
            result,
        })
    }
}

/// Splits strace's argument list at its top-level commas (the `->` of a
/// TCP connection's `<TCP:[a->b]>` closes nothing).
fn split_arguments(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let (mut depth, mut quoted, mut start, mut previous) = (0i32, false, 0, ' ');
    for (at, c) in text.char_indices() {
        let arrow = previous == '-';
        previous = c;
        match c {
            '"' => quoted = !quoted,
            '[' | '{' | '<' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            '>' if !quoted && !arrow => depth -= 1,
            ',' if !quoted && depth == 0 => {
                args.push(text[start..at].trim().to_owned());
                start = at + 1;
            }
            _ => {}
        }
    }
    args.push(text[start..].trim().to_owned());
    args
}

/// The bytes of a string strace printed with `-xx` (`"\x2f\x74"`).
fn string(arg: &str) -> Vec<u8> {
    let quoted = arg
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("strace: not a whole string: {arg:.80}"));
    hex_escaped(quoted)
}

/// The bytes of `\x2f\x74…`; what follows the last byte (strace's
/// `<char 1:3>` after a device's path) is left out.
fn hex_escaped(text: &str) -> Vec<u8> {
    text.split("\\x")
        .skip(1)
        .map(|byte| u8::from_str_radix(&byte[..2], 16).unwrap())
        .collect()
}

/// The peer's port of a TCP connection as `-yy` shows it
/// (`5<TCP:[127.0.0.1:8041->127.0.0.1:36196]>`).
fn tcp_peer_port(arg: &str) -> Option<u16> {
    let connection = arg.split_once("<TCP:[")?.1.split(']').next()?;
    connection.rsplit(':').next()?.parse().ok()
}

/// The bytes of a `writev` vector, joined.
fn iovec(arg: &str) -> Vec<u8> {
    arg.split("iov_base=")
        .skip(1)
        .flat_map(|part| string(&part[..part.find("\", iov_len").unwrap() + 1]))
        .collect()
}

/// The path strace showed for a descriptor (`8<\x2f\x74>`), or "" for
/// one it showed without.
fn fd_path(arg: &str) -> String {
    match (arg.find('<'), arg.rfind('>')) {
        (Some(start), Some(end)) => {
            String::from_utf8(hex_escaped(&arg[start + 1..end])).unwrap_or_default()
        }
        _ => String::new(),
    }
}

fn fd_number(arg: &str) -> i64 {
    arg.split('<').next().unwrap().parse().unwrap_or(-1)
}

/// A path argument made absolute against its directory descriptor's
/// path (`AT_FDCWD<…>` included).
fn resolve(directory: &str, arg: &str) -> String {
    let path = String::from_utf8(string(arg)).unwrap();
    match path.starts_with('/') {
        true => path,
        false => format!("{}/{path}", fd_path(directory)),
    }
}
