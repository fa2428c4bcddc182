/* s3_xml.c — S3's XML replies (an error, a listing page, a multipart
 * upload's id) read with libxml2.  A reply is hostile input: it is parsed
 * from memory (bounded by S3_REPLY_MAX), without network access and without
 * substituting entities, and every value is copied into a bounded field.
 * Elements are matched by local name: S3 puts them in its namespace. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "server/objstore/s3_int.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static xmlDocPtr parse(const void *p, size_t n, const char *root)
{
	xmlDocPtr d;
	xmlNodePtr r;

	if (!p || !n || n > S3_REPLY_MAX)
		return NULL;
	d = xmlReadMemory(p, (int)n, "s3-reply.xml", NULL, XML_OPTS);
	if (!d)
		return NULL;
	r = xmlDocGetRootElement(d);
	if (!r || strcmp((const char *)r->name, root)) {
		xmlFreeDoc(d);
		return NULL;
	}
	return d;
}

static bool is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* The node's text into out (outsz bytes): -EBADMSG when it does not fit. */
static int text(xmlNodePtr n, char *out, size_t outsz)
{
	xmlChar *t = xmlNodeGetContent(n);
	size_t l;
	int rc = 0;

	if (!t)
		return -EBADMSG;
	l = strlen((const char *)t);
	if (l >= outsz)
		rc = -EBADMSG;
	else
		memcpy(out, t, l + 1);
	xmlFree(t);
	return rc;
}

int s3_xml_error(const void *p, size_t n, char *code, size_t codesz, char *msg, size_t msgsz)
{
	xmlDocPtr d = parse(p, n, "Error");
	int rc = 0;

	if (!d)
		return -EBADMSG;
	code[0] = msg[0] = '\0';
	for (xmlNodePtr c = xmlDocGetRootElement(d)->children; c && !rc; c = c->next) {
		if (is(c, "Code"))
			rc = text(c, code, codesz);
		else if (is(c, "Message") && text(c, msg, msgsz))
			msg[0] = '\0';   /* an overlong message is only left out */
	}
	xmlFreeDoc(d);
	return rc;
}

static int size_of(xmlNodePtr n, uint64_t *size)
{
	char t[24], *end;
	unsigned long long v;

	if (text(n, t, sizeof(t)) || !t[0] || t[0] < '0' || t[0] > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(t, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*size = v;
	return 0;
}

static int contents(xmlNodePtr n, s3_list_fn fn, void *arg, int *stop)
{
	char key[S3_KEY_MAX + 1] = "";
	uint64_t size = 0;
	bool has_key = false, has_size = false;

	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (is(c, "Key")) {
			if (text(c, key, sizeof(key)) || !key[0])
				return -EBADMSG;
			has_key = true;
		} else if (is(c, "Size")) {
			if (size_of(c, &size))
				return -EBADMSG;
			has_size = true;
		}
	}
	if (!has_key || !has_size)
		return -EBADMSG;
	*stop = fn(arg, key, size);
	return 0;
}

int s3_xml_list(const void *p, size_t n, s3_list_fn fn, void *arg, int *stop, bool *truncated,
		char *next, size_t next_sz)
{
	xmlDocPtr d = parse(p, n, "ListBucketResult");
	char flag[8] = "";
	int rc = 0;

	if (!d)
		return -EBADMSG;
	*truncated = false;
	*stop = 0;
	next[0] = '\0';
	for (xmlNodePtr c = xmlDocGetRootElement(d)->children; c && !rc && !*stop; c = c->next) {
		if (is(c, "Contents"))
			rc = contents(c, fn, arg, stop);
		else if (is(c, "IsTruncated"))
			rc = text(c, flag, sizeof(flag));
		else if (is(c, "NextContinuationToken"))
			rc = text(c, next, next_sz);
	}
	if (!rc)
		*truncated = !strcmp(flag, "true");
	xmlFreeDoc(d);
	return rc;
}

int s3_xml_field(const void *p, size_t n, const char *root, const char *child, char *out,
		 size_t outsz)
{
	xmlDocPtr d = parse(p, n, root);
	int rc = -EBADMSG;

	if (!d)
		return -EBADMSG;
	out[0] = '\0';
	for (xmlNodePtr c = xmlDocGetRootElement(d)->children; c; c = c->next)
		if (is(c, child)) {
			rc = text(c, out, outsz);
			break;
		}
	xmlFreeDoc(d);
	return rc;
}
