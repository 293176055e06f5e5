//! What the allocator keeps, and the limits the server process sets on it.
//!
//! The server allocates through glibc's `malloc`. By default glibc gives threads their own
//! arenas (up to eight per core: 16 on two cores, and a sync load runs two runtime threads and
//! a score of blocking threads for SQLite and files), keeps what is freed in each arena for
//! reuse, and raises its mmap threshold up to 32 MiB after the first large buffer is freed, so
//! later large buffers (sync bodies and pages, saved documents) come from the arenas too and
//! stay there. Under `sync-bench`'s 100-device load the live heap stays near 36 MiB, yet the
//! resident set reached 105–121 MiB: memory kept by the allocator, not data.
//!
//! [`limit_retention`] makes the process run with [`TUNABLES`]: two arenas, buffers of
//! 128 KiB and more mapped on their own (given back to the system when freed), and the top of
//! an arena trimmed beyond 256 KiB free. Tunables are read only when a process starts, so it
//! starts the server's executable again in place (same process id, same arguments) with them
//! added to `GLIBC_TUNABLES`. An operator who sets any `glibc.malloc` tunable keeps theirs.
//! (glibc 2.36 writes a NUL after each value it reads into the environment block the process
//! started with, so `/proc/PID/environ` shows the first tunable alone; all are in force.)
//! (`malloc_trim` and `mallopt` would need unsafe code, which the workspace forbids.)

/// The glibc malloc tunables the server runs with.
pub const TUNABLES: &str = "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=262144";

/// Re-executes this process with [`TUNABLES`] in its environment unless glibc malloc
/// tunables are set already. Call it first thing in a server process, before it opens files
/// or sockets. Returns when the tunables are in force, when this is not a glibc Linux build,
/// or when the re-execution failed (logged; the server then runs with glibc's defaults).
pub fn limit_retention() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;

        let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if current.contains("glibc.malloc.") {
            return;
        }
        let tunables = if current.is_empty() {
            TUNABLES.to_string()
        } else {
            format!("{current}:{TUNABLES}")
        };
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_default();
        // Returns only on failure.
        let error = std::process::Command::new("/proc/self/exe")
            .arg0(arg0)
            .args(args)
            .env("GLIBC_TUNABLES", tunables)
            .exec();
        tracing::warn!(%error, "could not restart with the allocator's limits; running with glibc's defaults");
    }
}
