/* admit.h — what a worker tells the launcher when it asks for a run slot
 * (the ADMIT frame, src/payload.h): the run id, who the client is, and the
 * Location's share and patience (DESIGN §2 "Admission").
 *
 * Contract: the client key follows PySandboxClientKey: "ip:ADDR" from the
 * address httpd believes (r->useragent_ip, which mod_remoteip rewrites
 * for a trusted proxy), an IPv6 address cut to its /64 (one host usually
 * holds a whole /64), an IPv4-mapped one as IPv4; "user:NAME" from
 * REMOTE_USER; "header:VALUE" from the named request header, the last
 * item of a comma-separated list (what the nearest proxy appended).
 * Without a user or that header, the address. Bytes outside printable
 * ASCII become '?', and a key is cut at 128 bytes. */
#ifndef PYSB_HTTPD_ADMIT_H
#define PYSB_HTTPD_ADMIT_H

#include "httpd/request.h"
#include "src/payload.h"

void pysb_admit_fill(const pysb_req *x, pysb_admit *a);

#endif
