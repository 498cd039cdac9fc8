#define _GNU_SOURCE
#include "CSystemShim.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int lstm_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

int lstm_start_writeback(int fd) {
    off_t end = lseek(fd, 0, SEEK_CUR);
    if (end < 0) return -1;
    long page = sysconf(_SC_PAGESIZE);
    end -= end % (page > 0 ? page : 4096);
    return end > 0 ? sync_file_range(fd, 0, end, SYNC_FILE_RANGE_WRITE) : 0;
}

int lstm_open_direct(const char *path) {
    return open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
}

int lstm_start_writeback_range(int fd, long long offset, long long count) {
    return sync_file_range(fd, (off_t)offset, (off_t)count, SYNC_FILE_RANGE_WRITE);
}

long long lstm_dirty_pages(int fd) {
#ifndef __NR_cachestat
#define __NR_cachestat 451  /* the same number on every architecture */
#endif
    struct { unsigned long long off, len; } range = {0, 0};
    struct { unsigned long long cache, dirty, writeback, evicted, recently_evicted; } stat;
    if (syscall(__NR_cachestat, fd, &range, &stat, 0) != 0) return -1;
    return (long long)stat.dirty;
}

int lstm_memfd(const char *name) {
    return memfd_create(name, 0);
}

int lstm_open_unnamed(const char *folder) {
    return open(folder, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
}

int lstm_link_unnamed(int fd, const char *path) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

pid_t lstm_spawn(const char *path, char *const argv[], char *const envp[], int stdout_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    if (posix_spawn_file_actions_init(&actions) != 0) return -ENOMEM;
    if (posix_spawnattr_init(&attributes) != 0) { posix_spawn_file_actions_destroy(&actions); return -ENOMEM; }
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
    // The child starts with default signal dispositions and nothing blocked (the parent's cleanup handlers
    // are not inherited across exec anyway; the mask is).
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int status = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return status == 0 ? pid : -status;
}

enum { slots = 64 };
static char *paths[slots];
static atomic_int used[slots];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int installed = 0;

static void on_signal(int signal) {
    for (int k = 0; k < slots; k++) {
        if (atomic_load(&used[k]) == 1 && paths[k] != NULL) unlink(paths[k]);
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigaction(signal, &action, NULL);
    raise(signal);
}

static void install(void) {
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    for (int k = 0; k < 3; k++) {
        struct sigaction old;
        // A signal the user chose to ignore (nohup) stays ignored.
        if (sigaction(signals[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_signal;
        sigfillset(&action.sa_mask);
        sigaction(signals[k], &action, NULL);
    }
    installed = 1;
}

int lstm_cleanup_add(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL) return -1;
    pthread_mutex_lock(&lock);
    if (!installed) install();
    for (int k = 0; k < slots; k++) {
        if (atomic_load(&used[k]) == 0) {
            paths[k] = copy;
            atomic_store(&used[k], 1);
            pthread_mutex_unlock(&lock);
            return k;
        }
    }
    pthread_mutex_unlock(&lock);
    free(copy);
    return -1;
}

void lstm_unblock_termination_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void lstm_cleanup_remove(int slot) {
    if (slot < 0 || slot >= slots) return;
    pthread_mutex_lock(&lock);
    atomic_store(&used[slot], 0);
    char *old = paths[slot];
    paths[slot] = NULL;
    pthread_mutex_unlock(&lock);
    free(old);
}
