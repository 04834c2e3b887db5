/*
 * mmio-sockdev wire protocols: encoder and decoder.
 *
 * Two protocols run over one byte stream (TCP or UNIX socket) between QEMU
 * (the client, which owns the guest) and a device server:
 *
 *  - "basic": reads and writes only, no handshake ('R' addr32 size8 ->
 *    data[size]; 'W' addr32 size8 data): the wire format of the tutorial
 *    seed, so its servers work unmodified.
 *  - "v1": framed messages with an 8-byte header, request identifiers,
 *    read errors, posted writes, interrupts, DMA and state save/restore.
 *
 * All integers are little-endian on the wire.  The full specification is
 * devices/mmio-sockdev/PROTOCOL.md.
 *
 * The decoder trusts nothing: every length, size, padding byte and flag is
 * checked, and a decoded message never points outside the input buffer.
 * Context-dependent checks (address inside the window, DMA inside guest
 * RAM, negotiated capabilities) are the receiver's job; helpers below.
 * No global state, no allocation, no I/O: both QEMU and device servers (and
 * the fuzz target) link this code.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef QME_SOCKDEV_PROTO_H
#define QME_SOCKDEV_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QME_SD_MAGIC            0x56445351u     /* "QSDV" as LE bytes */
/*
 * Highest version spoken.  Version 2 adds the shared-memory transport
 * (SHM_SETUP) and virtual time: the guest's clock on every request
 * (TIME), events the server schedules in guest time (EVENT_AT, EVENT)
 * and lockstep (SYNC).  A version-1 peer never sees those messages.
 */
#define QME_SD_VERSION          2
#define QME_SD_VERSION_1        1
#define QME_SD_HDR_SIZE         8
/* Largest DMA transfer, state blob or data part of any one message. */
#define QME_SD_MAX_DATA         4096u
/* Largest payload: a DMA_WRITE (16 fixed bytes + data). */
#define QME_SD_MAX_PAYLOAD      (16u + QME_SD_MAX_DATA)
#define QME_SD_MAX_MSG          (QME_SD_HDR_SIZE + QME_SD_MAX_PAYLOAD)
/* Largest basic-protocol message: 'W' addr size data[8]. */
#define QME_SD_BASIC_MAX_MSG     14u

/* Capabilities negotiated in HELLO / HELLO_REPLY. */
#define QME_SD_CAP_IRQ          (1u << 0)   /* server may send IRQ */
#define QME_SD_CAP_DMA          (1u << 1)   /* server may send DMA_READ/WRITE */
#define QME_SD_CAP_STATE        (1u << 2)   /* server answers SAVE/RESTORE */
#define QME_SD_CAP_ALL          0x7u

/* Message types.  QEMU -> server: 0x01..0x3f; server -> QEMU: 0x80..0xbf. */
typedef enum QmeSdType {
    QME_SD_HELLO            = 0x01,
    QME_SD_READ             = 0x02,
    QME_SD_WRITE            = 0x03,
    QME_SD_RESET            = 0x04,
    QME_SD_SAVE             = 0x05,
    QME_SD_RESTORE          = 0x06,
    QME_SD_PING             = 0x07,
    QME_SD_SHM_SETUP        = 0x08,     /* version 2 */
    QME_SD_TIME             = 0x09,     /* version 2 */
    QME_SD_SYNC             = 0x0a,     /* version 2 */
    QME_SD_EVENT            = 0x0b,     /* version 2 */
    QME_SD_DMA_REPLY        = 0x21,

    QME_SD_HELLO_REPLY      = 0x81,
    QME_SD_READ_REPLY       = 0x82,
    QME_SD_SAVE_REPLY       = 0x85,
    QME_SD_RESTORE_REPLY    = 0x86,
    QME_SD_PONG             = 0x87,
    QME_SD_SHM_SETUP_REPLY  = 0x88,     /* version 2 */
    QME_SD_SYNC_REPLY       = 0x8a,     /* version 2 */
    QME_SD_EVENT_REPLY      = 0x8b,     /* version 2 */
    QME_SD_IRQ              = 0xa1,
    QME_SD_DMA_READ         = 0xa2,
    QME_SD_DMA_WRITE        = 0xa3,
    QME_SD_EVENT_AT         = 0xa4,     /* version 2 */

    /* Basic protocol (no header): the request byte is the type. */
    QME_SD_BASIC_READ        = 'R',
    QME_SD_BASIC_WRITE       = 'W',
} QmeSdType;

/* Status in READ_REPLY, SAVE_REPLY, RESTORE_REPLY, DMA_REPLY. */
enum {
    QME_SD_ST_OK = 0,
    QME_SD_ST_ERROR = 1,        /* device error (read: guest sees ~0) */
    QME_SD_ST_DENIED = 2,       /* DMA outside guest RAM / not enabled */
};

/*
 * Timed events (version 2): a server has QME_SD_MAX_EVENTS of them,
 * numbered from 0.  EVENT_AT's action is 0 (cancel the event) or a set
 * of these: NOTIFY sends the server an EVENT when the event fires; LINE
 * sets interrupt line @line to LEVEL (set: raised, clear: lowered).
 */
#define QME_SD_MAX_EVENTS       16u
#define QME_SD_EV_CANCEL        0u
#define QME_SD_EV_NOTIFY        (1u << 0)
#define QME_SD_EV_LINE          (1u << 1)
#define QME_SD_EV_LEVEL         (1u << 2)

/* Decoder results.  Errors are negative and mean "reset the connection". */
typedef enum QmeSdResult {
    QME_SD_OK = 1,              /* one message decoded */
    QME_SD_NEED_MORE = 0,       /* incomplete: read more bytes and retry */
    QME_SD_E_TYPE = -1,         /* unknown type, or wrong direction */
    QME_SD_E_LEN = -2,          /* payload length wrong for the type */
    QME_SD_E_SIZE = -3,         /* access size not 1, 2, 4 or 8 */
    QME_SD_E_PAD = -4,          /* non-zero flags or padding */
    QME_SD_E_FIELD = -5,        /* field value out of range */
} QmeSdResult;

/* Who sent the bytes being decoded: selects the allowed types. */
typedef enum QmeSdDir {
    QME_SD_FROM_CLIENT = 0,     /* QEMU -> server */
    QME_SD_FROM_SERVER = 1,     /* server -> QEMU */
} QmeSdDir;

/*
 * One decoded (or to-be-encoded) message.  Only the fields of its type are
 * meaningful.  @data points into the decoded buffer (or, for encoding, at
 * the caller's bytes).
 */
typedef struct QmeSdMsg {
    uint8_t type;
    uint32_t id;
    /* HELLO, HELLO_REPLY */
    uint32_t magic;
    uint16_t version;
    uint16_t min_version;       /* HELLO only */
    uint32_t window;
    uint32_t caps;
    /* READ, WRITE, basic R/W */
    uint32_t addr;
    uint8_t size;
    uint64_t value;             /* WRITE, READ_REPLY, basic W */
    /* *_REPLY */
    uint32_t status;
    /* IRQ */
    uint16_t line;
    uint8_t level;
    /* TIME, SYNC, EVENT, EVENT_AT: guest virtual clock (ns) */
    uint64_t vtime;
    /* EVENT, EVENT_AT (with line, for QME_SD_EV_LINE) */
    uint16_t event;
    uint8_t action;
    /* SHM_SETUP: ring slots and memfd bytes (sockdev-shm.h) */
    uint32_t shm_slots;
    uint32_t shm_size;
    /* DMA_READ, DMA_WRITE */
    uint64_t dma_addr;
    uint32_t dma_len;
    /* DMA_WRITE, DMA_REPLY, SAVE_REPLY, RESTORE */
    const uint8_t *data;
    uint32_t data_len;
} QmeSdMsg;

/*
 * Return convention: the decoders return a QmeSdResult (QME_SD_OK,
 * QME_SD_NEED_MORE or a negative error); the encoders return a length, 0
 * when the message is invalid or does not fit; the rest cannot fail and
 * say what they return.  None of these touch errno, except
 * qme_sd_parse_address().
 */

/*
 * v1: decode one message from @buf (@avail bytes).  On QME_SD_OK, *@msg is
 * filled and *@consumed is its length; on NEED_MORE nothing is consumed.
 * A header announcing more than QME_SD_MAX_PAYLOAD is an error at once
 * (no waiting for bytes that would overflow a receive buffer).
 */
QmeSdResult qme_sd_decode(const uint8_t *buf, size_t avail, QmeSdDir dir,
                          QmeSdMsg *msg, size_t *consumed);

/* v1: encode @msg into @buf; returns its length, or 0 if invalid/too big. */
size_t qme_sd_encode(uint8_t *buf, size_t cap, const QmeSdMsg *msg);

/*
 * Basic: decode a request (client -> server) from @buf, as
 * qme_sd_decode().  A basic read reply has no framing: it is exactly
 * @size bytes, see qme_sd_basic_decode_value().
 */
QmeSdResult qme_sd_basic_decode(const uint8_t *buf, size_t avail,
                                QmeSdMsg *msg, size_t *consumed);
/* Basic: encode a request; returns its length, or 0 if invalid/too big. */
size_t qme_sd_basic_encode(uint8_t *buf, size_t cap, const QmeSdMsg *msg);
/* Returns @size bytes, little-endian, as a value (size 1, 2, 4 or 8). */
uint64_t qme_sd_basic_decode_value(const uint8_t *buf, unsigned size);
/* Stores @value as @size bytes, little-endian; cannot fail. */
void qme_sd_basic_encode_value(uint8_t *buf, unsigned size, uint64_t value);

/* Returns whether an access of @size bytes at @addr lies in @window. */
bool qme_sd_access_ok(uint32_t window, uint32_t addr, unsigned size);
/*
 * Returns whether timed event @event (EVENT_AT) may have @action on
 * @line: a number below QME_SD_MAX_EVENTS, known action bits, a level
 * and a line number only with QME_SD_EV_LINE.
 */
bool qme_sd_event_ok(unsigned event, unsigned action, unsigned line);
/* Returns whether [@addr, @addr + @len) lies in [@base, @base + @span). */
bool qme_sd_range_ok(uint64_t base, uint64_t span, uint64_t addr,
                     uint64_t len);

/* Return a static name; unknown values are named "unknown". */
const char *qme_sd_result_str(QmeSdResult r);
const char *qme_sd_type_str(uint8_t type);
/* Returns the type named @name ("READ", "basic-R", ...), or -1. */
int qme_sd_type_from_str(const char *name);

/*
 * A device server's address, as the client connects to it and the server
 * listens on it.
 */
typedef struct QmeSdAddress {
    bool is_unix;
    char path[108];     /* unix:PATH; sun_path's size, NUL included */
    char host[256];     /* tcp:HOST:PORT; an [IPv6] literal without [] */
    char port[6];       /* decimal, 0..65535 */
} QmeSdAddress;

/*
 * Parse "unix:PATH" or "tcp:HOST:PORT" (HOST a name, an IPv4 address or
 * an [IPv6] literal) into *@out, without resolving anything.  Returns 0,
 * or -1 with errno EINVAL and, in @err (@errlen bytes, may be NULL), a
 * message that starts with @address.
 */
int qme_sd_parse_address(const char *address, QmeSdAddress *out,
                         char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* QME_SOCKDEV_PROTO_H */
