/* Webhook URLs held to the fetch address policy before they are kept. */
#ifndef CLIPMILL_STAGES_WEBHOOK_H
#define CLIPMILL_STAGES_WEBHOOK_H

#include <stddef.h>

/* 0 when URL passes webhook_url_check() and every address its host
 * resolves to is allowed by fetch_addr_allowed(); else -1 with a
 * sentence in ERR (the delivery checks again at each connection). */
int	webhook_url_allowed(const char *url, char *err, size_t errlen);

#endif
