#ifndef LSTMFORMAT_CSYSTEM_SHIM_H
#define LSTMFORMAT_CSYSTEM_SHIM_H
#include <sys/types.h>

/// Linux system calls Swift cannot call directly (variadic or macro-based), and the async-signal-safe
/// cleanup of temporary files (Spec/reliability.md, P1, W2).

/// prctl(PR_SET_PDEATHSIG, signal): the calling process receives `signal` when its parent dies. 0 or -1.
int lstm_set_parent_death_signal(int signal);

/// sync_file_range(SYNC_FILE_RANGE_WRITE) from the start of the file to its current offset rounded down to a
/// page (a page still being filled is left alone): starts the writeback of those dirty pages without waiting
/// for it (Spec/reliability.md, W1a). 0, or -1 with errno set (ESPIPE for a pipe: nothing to do).
int lstm_start_writeback(int fd);

/// open(path, O_WRONLY | O_DIRECT | O_CLOEXEC): a second descriptor on an existing file whose aligned writes
/// bypass the page cache (Spec/hdf5-layout.md, H16). -1 on error (errno set; EINVAL where the file system has
/// no O_DIRECT).
int lstm_open_direct(const char *path);

/// sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE): starts the writeback of those bytes' dirty pages
/// without waiting (W1a, for positional writes). 0 or -1 (errno set).
int lstm_start_writeback_range(int fd, long long offset, long long count);

/// cachestat(2) over the whole file (Linux 6.5+): its pages in the page cache that are dirty, or -1 with errno
/// set (ENOSYS on older kernels). For tests of W1a.
long long lstm_dirty_pages(int fd);

/// memfd_create(name, 0): an anonymous memory file; -1 on error (errno set).
int lstm_memfd(const char *name);

/// open(folder, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666): an unnamed regular file in `folder`, freed when its
/// last descriptor closes (whatever the exit); -1 on error (errno set; EOPNOTSUPP on file systems without it).
int lstm_open_unnamed(const char *folder);

/// Gives the unnamed file open as `fd` the name `path` (linkat through /proc/self/fd). 0 or -1 (errno set).
int lstm_link_unnamed(int fd, const char *path);

/// posix_spawn of `path` with `argv` and `envp`, its stdout replaced by `stdout_fd` (stdin and stderr
/// inherited), in the caller's process group. Returns the pid, or -errno.
pid_t lstm_spawn(const char *path, char *const argv[], char *const envp[], int stdout_fd);

/// Registers a path to unlink when SIGINT, SIGTERM or SIGHUP arrives (the handler then re-raises the signal
/// with its default action). Returns a slot for `lstm_cleanup_remove`, or -1 when all slots are taken.
/// Installs the handlers on first use.
int lstm_cleanup_add(const char *path);

/// Unblocks SIGINT, SIGTERM and SIGHUP in the calling thread, which a parent may have left blocked (a
/// blocked SIGTERM would make the process, and the temporary files it removes on SIGTERM, unkillable by it).
void lstm_unblock_termination_signals(void);
void lstm_cleanup_remove(int slot);
#endif
