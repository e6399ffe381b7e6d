/*
 * Bounded parsers for what arrives from the network: query strings and
 * urlencoded bodies, JSON bodies, cookies, multipart/form-data (streaming)
 * and route paths.  Every size is capped before anything is allocated; a
 * failure is a sentence naming the field, never a crash.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

void
form_free(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->f[i].key);
		free(f->f[i].val);
	}
	f->n = 0;
}

int
form_add(struct form *f, const char *key, const char *val, size_t vlen,
    char *err, size_t errlen)
{
	char *k, *v;

	if (f->n >= FORM_MAX_FIELDS) {
		seterr(err, errlen, "too many fields (at most %d)",
		    FORM_MAX_FIELDS);
		return -1;
	}
	if (vlen > FORM_MAX_VALUE) {
		seterr(err, errlen, "%.64s: the value is longer than %d bytes",
		    key, FORM_MAX_VALUE);
		return -1;
	}
	/* Every text field is UTF-8, or PostgreSQL and JSON answers refuse
	 * it later (a 500 instead of a 400). */
	if (utf8_valid_prefix(val, vlen) != vlen) {
		seterr(err, errlen, "%.64s: is not valid UTF-8 text", key);
		return -1;
	}
	if ((k = strdup(key)) == NULL || (v = malloc(vlen + 1)) == NULL) {
		free(k);
		seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(v, val, vlen);
	v[vlen] = '\0';
	f->f[f->n].key = k;
	f->f[f->n].val = v;
	f->n++;
	return 0;
}

const char *
form_get(const struct form *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].key, key) == 0)
			return f->f[i].val;
	return NULL;
}

size_t
form_count(const struct form *f, const char *key)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i].key, key) == 0)
			n++;
	return n;
}

int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
url_decode(const char *s, size_t n, char *out, int plus)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return (long)o;
}

/* A field name: 1..63 bytes of [a-z0-9_]. */
static int
name_ok(const char *k)
{
	size_t i, n = strlen(k);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)k[i]) || isdigit((unsigned char)k[i]) ||
		    k[i] == '_'))
			return 0;
	return 1;
}

int
parse_urlencoded(const char *s, size_t n, struct form *f, char *err,
    size_t errlen)
{
	size_t i = 0, j, eq;
	char key[64], *val = NULL;
	long kl, vl;
	int rc = -1;

	if (n > FORM_MAX_BODY) {
		seterr(err, errlen, "the form is larger than %d bytes",
		    FORM_MAX_BODY);
		return -1;
	}
	if ((val = malloc(n + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	while (i < n) {
		for (j = i; j < n && s[j] != '&'; j++)
			;
		if (j == i) {		/* "a=1&&b=2": tolerate empty pairs */
			i = j + 1;
			continue;
		}
		for (eq = i; eq < j && s[eq] != '='; eq++)
			;
		if (eq - i >= sizeof(key)) {
			seterr(err, errlen, "a field name is longer than %zu "
			    "bytes", sizeof(key) - 1);
			goto out;
		}
		if ((kl = url_decode(s + i, eq - i, key, 1)) < 0 ||
		    strlen(key) != (size_t)kl || !name_ok(key)) {
			seterr(err, errlen, "a field name is not 1 to 63 "
			    "lower-case letters, digits or underscores");
			goto out;
		}
		vl = eq < j ? url_decode(s + eq + 1, j - eq - 1, val, 1) : 0;
		if (eq >= j)
			val[0] = '\0';
		if (vl < 0) {
			seterr(err, errlen, "%s: bad percent-encoding", key);
			goto out;
		}
		if (memchr(val, '\0', (size_t)vl) != NULL) {
			seterr(err, errlen, "%s: contains a NUL byte", key);
			goto out;
		}
		if (form_add(f, key, val, (size_t)vl, err, errlen) == -1)
			goto out;
		i = j + 1;
	}
	rc = 0;
out:
	free(val);
	return rc;
}

/* D in the fewest significant digits that read back as D (3.7, not the
 * 3.7000000000000002 of "%.17g"), into OUT. */
static void
shortest_double(double d, char *out, size_t outlen)
{
	int prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(out, outlen, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
	snprintf(out, outlen, "%.17g", d);
}

static int
json_scalar(struct form *f, const char *key, json_t *v, char *err,
    size_t errlen)
{
	char num[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (memchr(json_string_value(v), '\0', json_string_length(v))) {
			seterr(err, errlen, "%s: contains a NUL character", key);
			return -1;
		}
		return form_add(f, key, json_string_value(v),
		    json_string_length(v), err, errlen);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return form_add(f, key, num, strlen(num), err, errlen);
	case JSON_REAL:
		shortest_double(json_real_value(v), num, sizeof(num));
		return form_add(f, key, num, strlen(num), err, errlen);
	case JSON_TRUE:
		return form_add(f, key, "true", 4, err, errlen);
	case JSON_FALSE:
		return form_add(f, key, "false", 5, err, errlen);
	default:
		seterr(err, errlen, "%s: must be a string, number or boolean",
		    key);
		return -1;
	}
}

int
parse_json_body(const char *s, size_t n, struct form *f, char *err,
    size_t errlen)
{
	json_error_t jerr;
	json_t *o, *v, *e;
	const char *key;
	size_t i;
	int rc = -1;

	if (n > FORM_MAX_BODY) {
		seterr(err, errlen, "the JSON body is larger than %d bytes",
		    FORM_MAX_BODY);
		return -1;
	}
	/* jansson limits nesting depth itself (2048); the size cap above
	 * bounds everything else. */
	if ((o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		seterr(err, errlen, "the body is not valid JSON: %s at line %d, "
		    "column %d", jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(o)) {
		seterr(err, errlen, "the body must be a JSON object");
		goto out;
	}
	json_object_foreach(o, key, v) {
		if (!name_ok(key)) {
			seterr(err, errlen, "a field name is not 1 to 63 "
			    "lower-case letters, digits or underscores");
			goto out;
		}
		if (json_is_array(v)) {
			json_array_foreach(v, i, e)
				if (json_scalar(f, key, e, err, errlen) == -1)
					goto out;
			continue;
		}
		if (json_is_null(v))
			continue;	/* null means "the default" */
		if (json_scalar(f, key, v, err, errlen) == -1)
			goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int
cookie_get(const char *h, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name), vl;
	const char *p = h, *v, *end;

	while (h != NULL && *p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 &&
		    p[nl] == '=') {
			v = p + nl + 1;
			vl = (size_t)(end - v);
			while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl >= outlen)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		p = end;
	}
	return -1;
}

/* RFC 2046 boundary characters. */
static int
bchar(int c)
{
	return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

int
multipart_boundary(const char *ct, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *p;
	size_t n = 0;

	if (ct == NULL || strncasecmp(ct, "multipart/form-data", 19) != 0 ||
	    (p = strcasestr(ct, "boundary=")) == NULL) {
		seterr(err, errlen, "the multipart Content-Type has no boundary");
		return -1;
	}
	p += 9;
	if (*p == '"') {
		p++;
		while (p[n] && p[n] != '"')
			n++;
		if (p[n] != '"') {
			seterr(err, errlen, "the multipart boundary has an "
			    "unterminated quote");
			return -1;
		}
	} else
		while (p[n] && p[n] != ';' && p[n] != ' ')
			n++;
	if (n == 0 || n > 70 || n >= outlen) {
		seterr(err, errlen, "the multipart boundary must be 1 to 70 "
		    "characters");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!bchar((unsigned char)p[i])) {
			seterr(err, errlen, "the multipart boundary has a "
			    "character RFC 2046 does not allow");
			return -1;
		}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
path_match(const char *path, const char *pat, long long *id)
{
	const char *p = path, *q = pat;
	long long v = -1;

	while (*q) {
		if (*q == '%') {
			if (!isdigit((unsigned char)*p) || *p == '0')
				return 0;
			v = 0;
			while (isdigit((unsigned char)*p)) {
				if (v > (INT64_MAX - 9) / 10)
					return 0;
				v = v * 10 + (*p++ - '0');
			}
			q++;
			continue;
		}
		if (*p != *q)
			return 0;
		p++;
		q++;
	}
	if (*p != '\0')
		return 0;
	if (id != NULL)
		*id = v;
	return 1;
}

/* ---- multipart/form-data ---- */

enum { MP_PREAMBLE, MP_AFTER_DELIM, MP_AFTER_DASH, MP_AFTER_CR, MP_HEADERS,
	MP_BODY, MP_END };

#define MP_MAX_PARTS	32
#define MP_MAX_HEADER	4096

int
mp_init(struct multipart *m, const char *boundary, struct form *form,
    char *err, size_t errlen)
{
	struct form *keep = form;
	void *arg = m->arg;
	int (*cb)(void *, const struct mp_part *, const char *, size_t,
	    char *, size_t) = m->on_file;

	memset(m, 0, sizeof(*m));
	m->form = keep;
	m->arg = arg;
	m->on_file = cb;
	if (xsnprintf(m->delim, sizeof(m->delim), "\r\n--%s", boundary) == -1) {
		seterr(err, errlen, "the multipart boundary is too long");
		return -1;
	}
	m->dlen = strlen(m->delim);
	/* The first delimiter has no CRLF before it: start as if it had. */
	m->match = 2;
	m->state = MP_PREAMBLE;
	buf_init(&m->hdr, MP_MAX_HEADER);
	buf_init(&m->val, FORM_MAX_VALUE);
	return 0;
}

void
mp_free(struct multipart *m)
{
	buf_free(&m->hdr);
	buf_free(&m->val);
}

/* Copy parameter PARAM (name="x" or name=x) of header value H into OUT. */
static int
hdr_param(const char *h, const char *param, char *out, size_t outlen,
    int *found)
{
	size_t pl = strlen(param), n = 0;
	const char *p = h;

	*found = 0;
	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, param, pl) != 0 || p[pl] != '=')
			continue;
		p += pl + 1;
		if (*p == '"') {
			p++;
			while (p[n] && p[n] != '"') {
				if (p[n] == '\\' && p[n + 1])
					return -1;	/* browsers escape as %22 */
				n++;
			}
			if (p[n] != '"')
				return -1;
		} else
			while (p[n] && p[n] != ';' && p[n] != ' ')
				n++;
		if (n >= outlen)
			return -1;
		memcpy(out, p, n);
		out[n] = '\0';
		*found = 1;
		return 0;
	}
	return 0;
}

/* Parse the header block in m->hdr into m->part. */
static int
mp_headers(struct multipart *m, char *err, size_t errlen)
{
	char *line = m->hdr.data, *eol, *v;
	int found, have_cd = 0;

	memset(&m->part, 0, sizeof(m->part));
	while (line != NULL && *line) {
		eol = strstr(line, "\r\n");
		if (eol != NULL)
			*eol = '\0';
		if ((v = strchr(line, ':')) == NULL) {
			seterr(err, errlen, "a multipart header line has no "
			    "colon");
			return -1;
		}
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "Content-Disposition") == 0) {
			have_cd = 1;
			if (strncasecmp(v, "form-data", 9) != 0) {
				seterr(err, errlen, "a multipart part is not "
				    "form-data");
				return -1;
			}
			if (hdr_param(v, "name", m->part.name,
			    sizeof(m->part.name), &found) == -1 || !found ||
			    !name_ok(m->part.name)) {
				seterr(err, errlen, "a multipart part has a "
				    "missing or bad field name");
				return -1;
			}
			if (hdr_param(v, "filename", m->part.filename,
			    sizeof(m->part.filename), &found) == -1) {
				seterr(err, errlen, "%s: the file name is "
				    "longer than %zu bytes or badly quoted",
				    m->part.name, sizeof(m->part.filename) - 1);
				return -1;
			}
			if (utf8_valid_prefix(m->part.filename,
			    strlen(m->part.filename)) !=
			    strlen(m->part.filename)) {
				seterr(err, errlen, "%s: the file name is not "
				    "valid UTF-8 text", m->part.name);
				return -1;
			}
			m->part.is_file = found;
		} else if (strcasecmp(line, "Content-Type") == 0) {
			if (xsnprintf(m->part.ctype, sizeof(m->part.ctype),
			    "%s", v) == -1) {
				seterr(err, errlen, "a multipart Content-Type "
				    "is too long");
				return -1;
			}
		}
		line = eol ? eol + 2 : NULL;
	}
	if (!have_cd) {
		seterr(err, errlen, "a multipart part has no "
		    "Content-Disposition");
		return -1;
	}
	return 0;
}

/* Body bytes of the current part. */
static int
mp_data(struct multipart *m, const char *d, size_t n, char *err,
    size_t errlen)
{
	if (n == 0)
		return 0;
	if (m->part.is_file)
		return m->on_file ? m->on_file(m->arg, &m->part, d, n, err,
		    errlen) : 0;
	if (buf_add(&m->val, d, n) == -1) {
		seterr(err, errlen, "%s: the value is longer than %d bytes",
		    m->part.name, FORM_MAX_VALUE);
		return -1;
	}
	return 0;
}

static int
mp_part_end(struct multipart *m, char *err, size_t errlen)
{
	if (m->part.is_file)
		return 0;
	if (memchr(m->val.data ? m->val.data : "", '\0', m->val.len) != NULL) {
		seterr(err, errlen, "%s: contains a NUL byte", m->part.name);
		return -1;
	}
	return form_add(m->form, m->part.name, m->val.data ? m->val.data : "",
	    m->val.len, err, errlen);
}

/*
 * PREAMBLE or BODY: scan D[*IP..N) for the delimiter, passing the body's
 * bytes on, and advance *IP past what was read.  A partial match may span
 * calls: the matched bytes are then exactly delim[0..match), so on a
 * mismatch they are emitted from delim itself.  The boundary cannot
 * contain CR, so a new match can only start at the current byte.  0/-1.
 */
static int
mp_scan(struct multipart *m, const char *d, size_t n, size_t *ip, char *err,
    size_t errlen)
{
	size_t i = *ip, run = i;
	unsigned char c;

	while (i < n) {
		c = (unsigned char)d[i];
		if (m->match > 0) {
			if (c == (unsigned char)m->delim[m->match]) {
				m->match++;
				i++;
				if (m->match == m->dlen)
					break;
				continue;
			}
			if (m->state == MP_BODY && mp_data(m, m->delim,
			    m->match, err, errlen) == -1)
				return -1;
			m->match = 0;
			run = i;
		}
		if (c == (unsigned char)m->delim[0]) {
			if (m->state == MP_BODY && mp_data(m, d + run, i - run,
			    err, errlen) == -1)
				return -1;
			m->match = 1;
		}
		i++;
	}
	*ip = i;
	if (m->match == m->dlen) {
		if (m->state == MP_BODY && mp_part_end(m, err, errlen) == -1)
			return -1;
		m->match = 0;
		m->state = MP_AFTER_DELIM;
		return 0;
	}
	/* the end of this piece: bytes before a partial match were flushed
	 * when it started */
	if (m->match == 0 && m->state == MP_BODY &&
	    mp_data(m, d + run, i - run, err, errlen) == -1)
		return -1;
	return 0;
}

/* One byte C after a delimiter: "--" ends the body, CRLF (after optional
 * blanks) starts a part's headers.  0/-1. */
static int
mp_after_delim(struct multipart *m, unsigned char c, char *err,
    size_t errlen)
{
	switch (m->state) {
	case MP_AFTER_DELIM:
		if (c == '-')
			m->state = MP_AFTER_DASH;
		else if (c == '\r')
			m->state = MP_AFTER_CR;
		else if (c != ' ' && c != '\t')
			goto garbage;
		return 0;
	case MP_AFTER_DASH:
		if (c != '-')
			goto garbage;
		m->state = MP_END;
		return 0;
	default:	/* MP_AFTER_CR */
		if (c != '\n')
			goto garbage;
		if (++m->nparts > MP_MAX_PARTS) {
			seterr(err, errlen, "more than %d multipart parts",
			    MP_MAX_PARTS);
			return -1;
		}
		buf_reset(&m->hdr);
		m->state = MP_HEADERS;
		return 0;
	}
garbage:
	seterr(err, errlen, "a multipart boundary is followed by garbage");
	return -1;
}

/* One byte C of a part's headers; at the blank line that ends them, the
 * part's body begins.  0/-1. */
static int
mp_header_byte(struct multipart *m, unsigned char c, char *err,
    size_t errlen)
{
	if (buf_add(&m->hdr, &c, 1) == -1) {
		seterr(err, errlen, "a multipart part's headers are longer "
		    "than %d bytes", MP_MAX_HEADER);
		return -1;
	}
	if (m->hdr.len == 2 && memcmp(m->hdr.data, "\r\n", 2) == 0) {
		seterr(err, errlen, "a multipart part has no headers");
		return -1;
	}
	if (m->hdr.len < 4 ||
	    memcmp(m->hdr.data + m->hdr.len - 4, "\r\n\r\n", 4) != 0)
		return 0;
	m->hdr.len -= 4;
	m->hdr.data[m->hdr.len] = '\0';
	if (mp_headers(m, err, errlen) == -1)
		return -1;
	buf_reset(&m->val);
	if (m->part.is_file && m->on_file != NULL &&
	    m->on_file(m->arg, &m->part, NULL, 0, err, errlen) == -1)
		return -1;
	m->state = MP_BODY;
	m->match = 0;
	return 0;
}

int
mp_feed(struct multipart *m, const char *d, size_t n, char *err,
    size_t errlen)
{
	size_t i = 0;
	int rc = 0;

	while (i < n && rc == 0) {
		switch (m->state) {
		case MP_PREAMBLE:
		case MP_BODY:
			rc = mp_scan(m, d, n, &i, err, errlen);
			break;
		case MP_AFTER_DELIM:
		case MP_AFTER_DASH:
		case MP_AFTER_CR:
			rc = mp_after_delim(m, (unsigned char)d[i++], err,
			    errlen);
			break;
		case MP_HEADERS:
			rc = mp_header_byte(m, (unsigned char)d[i++], err,
			    errlen);
			break;
		case MP_END:
			return 0;	/* the epilogue is ignored */
		}
	}
	return rc;
}

int
mp_finish(struct multipart *m, char *err, size_t errlen)
{
	if (m->state != MP_END) {
		seterr(err, errlen, "the multipart body ends before its "
		    "closing boundary");
		return -1;
	}
	return 0;
}

int
etag_match(const char *header, const char *etag)
{
	const char *p = header, *q;
	size_t n, elen;

	if (header == NULL || etag == NULL)
		return 0;
	/* the weak comparison: W/ does not count on either side */
	if (strncmp(etag, "W/", 2) == 0)
		etag += 2;
	elen = strlen(etag);
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return 0;	/* not a list of entity tags */
		if ((q = strchr(p + 1, '"')) == NULL)
			return 0;
		n = (size_t)(q - p) + 1;
		if (n == elen && memcmp(p, etag, n) == 0)
			return 1;
		p = q + 1;
	}
	return 0;
}
