/* SPDX-License-Identifier: GPL-2.0 */
/* Run code inside another network namespace, named by the inode number BPF reports. */
#ifndef PWHY_NETNS_H
#define PWHY_NETNS_H
#include <linux/types.h>

/* Inode of the calling thread's network namespace, 0 on error. */
__u32 netns_self_ino(void);

/* Run fn(arg) with the calling thread switched into the network namespace whose nsfs
 * inode is netns_ino, then switch back. 0 or our own inode calls fn directly.
 * Returns fn's return value, -ENOENT when no such namespace can be found (it may have
 * vanished since the event), or another negative errno when switching failed.
 * Only the calling thread moves; sockets fn creates stay bound to the target netns.
 * Nested calls are fine. */
int netns_call(__u32 netns_ino, int (*fn)(void *arg), void *arg);

#endif
