// Linux calls the Swift Glibc module does not expose (GNU extensions), wrapped once by Sources/SystemCalls.
#ifndef CSYSTEMSHIMS_H
#define CSYSTEMSHIMS_H

#include <poll.h>
#include <spawn.h>

/// POLLRDHUP: the peer closed its end (the client of a FastCGI connection went away).
extern const short CSystemShims_POLLRDHUP;

/// pipe2(fds, O_CLOEXEC).
int CSystemShims_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addclosefrom_np: close every descriptor from `lowfd` up in the child.
int CSystemShims_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd);

/// posix_spawn_file_actions_addchdir_np: the child's working directory.
int CSystemShims_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// mallopt(M_MMAP_THRESHOLD, bytes): a fixed threshold for allocations served by mmap (1 on success).
int CSystemShims_set_mmap_threshold(int bytes);

/// pthread_setname_np(pthread_self(), name): the calling thread's name (at most 15 bytes, or ERANGE).
int CSystemShims_set_current_thread_name(const char *name);

#endif
