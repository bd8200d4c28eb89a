/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers of render.c for the optional event parts (render_extra.c). */
#ifndef PWHY_RENDER_EXTRA_H
#define PWHY_RENDER_EXTRA_H
#include "pwhy/render.h"

#define RENDER_STACK_MAX 64
#define RENDER_SYM_LEN   96

/* "sym+off" of the caller, or NULL when this event has none */
const char *render_caller(struct render *r, const struct pwhy_event *ev, const char *probe,
			  char *buf, size_t len);
/* the stack after an event line: indented frames (text) or ,"stack":[...] (JSON) */
void render_stack_text(struct render *r, const struct pwhy_event *ev);
void render_stack_json(struct render *r, const struct pwhy_event *ev);
#endif
