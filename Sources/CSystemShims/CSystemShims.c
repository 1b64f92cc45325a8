#define _GNU_SOURCE
#include "CSystemShims.h"
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <unistd.h>

const short CSystemShims_POLLRDHUP = POLLRDHUP;

int CSystemShims_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int CSystemShims_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowfd);
}

int CSystemShims_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int CSystemShims_set_current_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

int CSystemShims_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}
