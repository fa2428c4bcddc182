/* rsync_params.h — the librsync signature parameters both ends agree on.
 *
 * The server streams a signature of a stored version with these (server
 * content_signature); the device loads it and computes its delta.  A false
 * block match (weak + 8-byte strong sum both colliding) can only make the
 * rebuilt content differ from the device's file, which the server's tree
 * root check then rejects (EBADMSG) and the device falls back to a whole
 * upload, so 8 strong bytes keep the signature small (12 bytes per 2 KiB
 * block: 1.5 MiB for a 256 MiB file) without risking a wrong version. */
#ifndef VIGIL_RSYNC_PARAMS_H
#define VIGIL_RSYNC_PARAMS_H

#include <librsync.h>

#define VG_RS_SIG_MAGIC   RS_RK_BLAKE2_SIG_MAGIC  /* rabin-karp rolling sum + BLAKE2 */
#define VG_RS_BLOCK_LEN   2048                    /* bytes per signature block */
#define VG_RS_STRONG_LEN  8                       /* bytes of BLAKE2 kept per block */

#endif
