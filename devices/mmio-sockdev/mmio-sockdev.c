/*
 * mmio-sockdev: an MMIO window on the "virt" machine whose registers live
 * in an external device server, reached over a TCP or UNIX socket.
 *
 * A bus-less device: at realize it maps its window (and a small bridge
 * block right after it) into system memory, wires one GIC SPI and adds a
 * node to the machine's device tree.  Wire protocols (PROTOCOL.md): basic
 * (reads and writes: the tutorial seed's format), and v1 with interrupts,
 * DMA and state save/restore.  The connection is the client library's
 * (sockdev-client-qemu.h); a read waits for its reply on the vCPU thread
 * for at most timeout-ms (a chardev could only answer through the main
 * loop, which cannot run meanwhile).  A lost server reads as all-ones
 * and drops writes until the library finds it again.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/host-utils.h"
#include "system/address-spaces.h"
#include "hw/irq.h"
#include "hw/qdev-core.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qme/qemu-compat.h"
#include "qme/platform.h"
#include "qme/qdev-props.h"
#include "qme/regtable-qemu.h"
#include "qme/sockdev-client-qemu.h"
#include "qme/sockdev-shm.h"
#include "mmio_sockdev-regtable.h"
#include "trace-mmio_sockdev.h"

#define TYPE_MMIO_SOCKDEV "mmio-sockdev"
OBJECT_DECLARE_SIMPLE_TYPE(MmioSockdevState, MMIO_SOCKDEV)

/* Values of the protocol property; seed is the basic protocol's old name. */
enum { PROTO_V1, PROTO_BASIC, PROTO_SEED };

struct MmioSockdevState {
    DeviceState parent_obj;

    MemoryRegion window;
    QmeMmioRegs bridge;
    uint64_t bridge_values[SOCKDEV_NUM_REGS];
    qemu_irq gic_input;
    QmeSdQemuClient *link;

    /* Server state carried by migration (v1 with CAP_STATE). */
    uint8_t *state_buf;
    uint32_t state_len;
    uint32_t irq_level;
    /* The server's timed events, pending in guest time. */
    QmeSdEvent events[QME_SD_MAX_EVENTS];

    /* Properties */
    char *socket;
    int protocol;
    int on_absent;          /* QmeSdAbsent */
    uint64_t addr;
    uint32_t size;
    uint32_t irq;           /* GIC SPI */
    uint32_t timeout_ms;
    uint32_t reconnect_ms;
    uint32_t wait_ms;
    bool dma;
    bool shm;
    uint32_t shm_spin_us;
    uint64_t quantum_ns;
};

static QmeSdClient *mmio_sockdev_client(MmioSockdevState *s)
{
    return qme_sd_qemu_client_core(s->link);
}

static bool mmio_sockdev_connected(MmioSockdevState *s)
{
    return qme_sd_client_connected(mmio_sockdev_client(s));
}

/* Bridge block */

uint64_t mmio_sockdev_status_read(QmeRegBlock *blk, const QmeReg *reg,
                                  uint64_t value)
{
    MmioSockdevState *s = blk->opaque;

    return (mmio_sockdev_connected(s) ? SOCKDEV_STATUS_CONNECTED_MASK : 0) |
           (s->protocol == PROTO_V1 ? SOCKDEV_STATUS_V1_MASK : 0) |
           /* No connection, no capabilities. */
           (qme_sd_client_caps(mmio_sockdev_client(s)) & QME_SD_CAP_DMA ?
            SOCKDEV_STATUS_DMA_MASK : 0);
}

uint64_t mmio_sockdev_outages_read(QmeRegBlock *blk, const QmeReg *reg,
                                   uint64_t value)
{
    MmioSockdevState *s = blk->opaque;

    return qme_sd_qemu_client_outages(s->link);
}

/* What the server may do: raise our one line, DMA into guest RAM. */

static int mmio_sockdev_server_irq(void *opaque, unsigned line, bool level)
{
    MmioSockdevState *s = opaque;

    if (line != 0) {
        return -1;
    }
    trace_mmio_sockdev_irq(level);
    s->irq_level = level;
    qemu_set_irq(s->gic_input, level);
    return 0;
}

/* Only inside guest RAM (the library checks that dma=on agreed it). */
static uint32_t mmio_sockdev_server_dma(void *opaque, bool is_write,
                                        uint64_t addr, uint8_t *buf,
                                        uint32_t len)
{
    MemoryRegionSection sec;
    uint32_t status = QME_SD_ST_OK;

    sec = memory_region_find(get_system_memory(), addr, len);
    if (!sec.mr || !memory_region_is_ram(sec.mr) ||
        int128_get64(sec.size) != len) {
        status = QME_SD_ST_DENIED;
    }
    if (sec.mr) {
        memory_region_unref(sec.mr);
    }
    if (status == QME_SD_ST_OK) {
        if (is_write) {
            address_space_write(&address_space_memory, addr,
                                MEMTXATTRS_UNSPECIFIED, buf, len);
        } else {
            address_space_read(&address_space_memory, addr,
                               MEMTXATTRS_UNSPECIFIED, buf, len);
        }
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: server DMA %s of %u bytes at "
                      "0x%" PRIx64 " is outside guest RAM: denied\n",
                      TYPE_MMIO_SOCKDEV, is_write ? "write" : "read", len,
                      addr);
    }
    trace_mmio_sockdev_dma(is_write ? "write" : "read", addr, len, status);
    return status;
}

static void mmio_sockdev_server_connected(void *opaque)
{
    MmioSockdevState *s = opaque;

    QmeSdClient *cl = mmio_sockdev_client(s);

    if (s->shm && !qme_sd_client_shm(cl)) {
        warn_report("%s: the device server at %s does not take shared "
                    "memory (protocol version 1): using the socket",
                    TYPE_MMIO_SOCKDEV, s->socket);
    }
    trace_mmio_sockdev_connected(s->socket, s->protocol == PROTO_BASIC ?
                                 "basic" : qme_sd_client_shm(cl) ?
                                 "v1+shm" : "v1",
                                 qme_sd_client_caps(cl));
}

static void mmio_sockdev_server_disconnected(void *opaque, const char *why)
{
    MmioSockdevState *s = opaque;

    trace_mmio_sockdev_disconnected(s->socket, why);
    /* A level the server raised must not stay up without the server. */
    if (s->irq_level) {
        s->irq_level = 0;
        qemu_set_irq(s->gic_input, 0);
    }
}

static const QmeSdQemuClientOps mmio_sockdev_link_ops = {
    .irq = mmio_sockdev_server_irq,
    .dma = mmio_sockdev_server_dma,
    .connected = mmio_sockdev_server_connected,
    .disconnected = mmio_sockdev_server_disconnected,
};

/* The window */

static uint64_t all_ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

static uint64_t mmio_sockdev_read(void *opaque, hwaddr addr, unsigned size)
{
    MmioSockdevState *s = opaque;
    uint64_t value;

    if (!qme_sd_access_ok(s->size, addr, size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad read of %u bytes at 0x%"
                      HWADDR_PRIx " (unaligned): reads 0\n",
                      TYPE_MMIO_SOCKDEV, size, addr);
        return 0;
    }
    if (!mmio_sockdev_connected(s)) {
        trace_mmio_sockdev_offline("read", addr, size);
        return all_ones(size);
    }
    if (qme_sd_client_read(mmio_sockdev_client(s), addr, size, &value) < 0) {
        if (errno == EIO) {
            qemu_log_mask(LOG_GUEST_ERROR, "%s: server refused the read of "
                          "%u bytes at 0x%" HWADDR_PRIx ": reads all-ones\n",
                          TYPE_MMIO_SOCKDEV, size, addr);
        }
        return all_ones(size);
    }
    trace_mmio_sockdev_read(addr, size, value);
    return value;
}

static void mmio_sockdev_write(void *opaque, hwaddr addr, uint64_t value,
                               unsigned size)
{
    MmioSockdevState *s = opaque;

    if (!qme_sd_access_ok(s->size, addr, size)) {
        qemu_log_mask(LOG_GUEST_ERROR, "%s: bad write of %u bytes at 0x%"
                      HWADDR_PRIx " (unaligned): dropped\n",
                      TYPE_MMIO_SOCKDEV, size, addr);
        return;
    }
    if (!mmio_sockdev_connected(s)) {
        trace_mmio_sockdev_offline("write", addr, size);
        return;
    }
    trace_mmio_sockdev_write(addr, size, value & all_ones(size));
    qme_sd_client_write(mmio_sockdev_client(s), addr, size, value);
}

static const MemoryRegionOps mmio_sockdev_ops = {
    .read = mmio_sockdev_read,
    .write = mmio_sockdev_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* Unaligned accesses reach us so that they get a defined result. */
    .valid = { .min_access_size = 1, .max_access_size = 8,
               .unaligned = true },
    .impl = { .min_access_size = 1, .max_access_size = 8,
              .unaligned = true },
};

/* Realize: map, wire, describe, connect */

static QmePlatformDevice mmio_sockdev_platform(MmioSockdevState *s)
{
    return (QmePlatformDevice) {
        .compatible = "qemu-modules-extra,mmio-sockdev",
        .regions = {
            { &s->window, s->size, "addr", s->addr },
            { &s->bridge.mr, SOCKDEV_BRIDGE_SIZE },    /* right after it */
        },
        .spi_prop = "irq",
        .spi = s->irq,
    };
}

static void mmio_sockdev_reset(DeviceState *dev)
{
    MmioSockdevState *s = MMIO_SOCKDEV(dev);

    trace_mmio_sockdev_reset();
    qme_mmio_regs_reset(&s->bridge);
    s->irq_level = 0;
    qemu_set_irq(s->gic_input, 0);
    if (s->link && mmio_sockdev_connected(s)) {
        qme_sd_client_reset(mmio_sockdev_client(s));
    }
}

/*
 * Undo realize, whatever step it reached (each resource says whether it
 * is there): a failed realize must leave no mapping, socket, fd handler,
 * timer or bottom half behind, all of which would outlive the device.
 */
static void mmio_sockdev_teardown(MmioSockdevState *s)
{
    qme_sd_qemu_client_free(s->link);
    s->link = NULL;
    if (memory_region_is_mapped(&s->bridge.mr)) {
        memory_region_del_subregion(get_system_memory(), &s->bridge.mr);
    }
    if (memory_region_is_mapped(&s->window)) {
        memory_region_del_subregion(get_system_memory(), &s->window);
    }
    /* No-ops on a region never initialized (it has no parent yet). */
    object_unparent(OBJECT(&s->bridge.mr));
    object_unparent(OBJECT(&s->window));
    g_free(s->state_buf);
    s->state_buf = NULL;
}

/* Properties to their values (qme_platform_check() does addr and irq). */
static bool mmio_sockdev_check_properties(MmioSockdevState *s, Error **errp)
{
    QmeSdAddress a;
    char err[256];

    if (s->protocol == PROTO_SEED) {
        s->protocol = PROTO_BASIC;
    }
    if (qme_sd_parse_address(s->socket, &a, err, sizeof(err)) < 0) {
        error_setg(errp, "%s: property 'socket' (%s): %s", TYPE_MMIO_SOCKDEV,
                   s->socket, err);
        return false;
    }
    if (s->size < 0x100 || s->size > 0x1000000 || !is_power_of_2(s->size)) {
        error_setg(errp, "%s: property 'size' (0x%x) must be a power of two "
                   "from 0x100 to 0x1000000", TYPE_MMIO_SOCKDEV, s->size);
        return false;
    }
    if (s->timeout_ms == 0 || s->timeout_ms > 60000) {
        error_setg(errp, "%s: property 'timeout-ms' is %u, must be 1 to "
                   "60000", TYPE_MMIO_SOCKDEV, s->timeout_ms);
        return false;
    }
    if (s->shm && (!a.is_unix || s->protocol != PROTO_V1)) {
        error_setg(errp, "%s: property 'shm' needs a unix: socket and "
                   "protocol=v1 (socket is %s)", TYPE_MMIO_SOCKDEV,
                   s->socket);
        return false;
    }
    if (s->quantum_ns && (s->quantum_ns < 1000 ||
                          s->quantum_ns > 1000000000 ||
                          s->protocol != PROTO_V1)) {
        error_setg(errp, "%s: property 'quantum-ns' is %" PRIu64 ", must be "
                   "0 (off) or 1000 to 1000000000 with protocol=v1",
                   TYPE_MMIO_SOCKDEV, s->quantum_ns);
        return false;
    }
    if (s->shm_spin_us > 1000000) {
        error_setg(errp, "%s: property 'shm-spin-us' is %u, must be at "
                   "most 1000000", TYPE_MMIO_SOCKDEV, s->shm_spin_us);
        return false;
    }
    if (s->reconnect_ms == 0) {
        error_setg(errp, "%s: property 'reconnect-ms' must not be 0",
                   TYPE_MMIO_SOCKDEV);
        return false;
    }
    return true;
}

static void mmio_sockdev_realize(DeviceState *dev, Error **errp)
{
    MmioSockdevState *s = MMIO_SOCKDEV(dev);
    QmePlatformDevice platform = mmio_sockdev_platform(s);
    uint32_t caps = QME_SD_CAP_IRQ | QME_SD_CAP_STATE |
                    (s->dma ? QME_SD_CAP_DMA : 0);

    if (!mmio_sockdev_check_properties(s, errp) ||
        qme_platform_check(dev, &platform, errp) < 0 ||
        qme_mmio_regs_init(&s->bridge, OBJECT(s), TYPE_MMIO_SOCKDEV
                           "-bridge", mmio_sockdev_regs, SOCKDEV_NUM_REGS,
                           s->bridge_values, SOCKDEV_BRIDGE_SIZE, errp) < 0) {
        goto fail;
    }
    memory_region_init_io(&s->window, OBJECT(s), &mmio_sockdev_ops, s,
                          TYPE_MMIO_SOCKDEV, s->size);
    s->state_buf = g_malloc0(QME_SD_MAX_DATA);
    s->link = qme_sd_qemu_client_new(TYPE_MMIO_SOCKDEV, s->socket,
                                     s->protocol == PROTO_V1 ?
                                     QME_SD_PROTO_V1 : QME_SD_PROTO_BASIC,
                                     s->size, caps, s->timeout_ms,
                                     s->reconnect_ms, &mmio_sockdev_link_ops, s,
                                     errp);
    if (!s->link) {
        goto fail;
    }
    qme_sd_client_set_shm(mmio_sockdev_client(s), s->shm, s->shm_spin_us);
    qme_sd_client_set_lockstep(mmio_sockdev_client(s), s->quantum_ns);
    if (qme_sd_qemu_client_start(s->link, s->on_absent, s->wait_ms,
                                 errp) < 0) {
        goto fail;
    }

    /* Last, as it was checked above: the device appears once it works. */
    if (qme_platform_attach(dev, &platform, &s->gic_input, errp) == 0) {
        return;
    }

fail:
    mmio_sockdev_teardown(s);
}

/* Enum properties: `-device mmio-sockdev,help` lists their values. */
static const QEnumLookup mmio_sockdev_protocol_lookup = {
    .array = (const char *const[]) { "v1", "basic", "seed" },
    .size = 3,
};

static const PropertyInfo mmio_sockdev_prop_protocol =
    QME_PROP_ENUM_INFO("SockdevProtocol", "v1/basic/seed",
                       &mmio_sockdev_protocol_lookup);
static const PropertyInfo mmio_sockdev_prop_absent =
    QME_PROP_ENUM_INFO("SockdevOnAbsent", "fail/wait/run",
                       &qme_sd_absent_lookup);

static const Property mmio_sockdev_properties[] = {
    DEFINE_PROP_STRING("socket", MmioSockdevState, socket),
    DEFINE_PROP_SIGNED("protocol", MmioSockdevState, protocol, PROTO_V1,
                       mmio_sockdev_prop_protocol, int),
    DEFINE_PROP_SIGNED("on-absent", MmioSockdevState, on_absent,
                       QME_SD_ABSENT_FAIL, mmio_sockdev_prop_absent, int),
    DEFINE_PROP_UINT64("addr", MmioSockdevState, addr, 0x0b000000),
    DEFINE_PROP_UINT32("size", MmioSockdevState, size, 0x1000),
    /* After stopwatch's 176: SPIs below are virt's (GICv2m, platform bus). */
    DEFINE_PROP_UINT32("irq", MmioSockdevState, irq, 177),
    DEFINE_PROP_UINT32("timeout-ms", MmioSockdevState, timeout_ms, 500),
    DEFINE_PROP_UINT32("reconnect-ms", MmioSockdevState, reconnect_ms, 200),
    DEFINE_PROP_UINT32("wait-ms", MmioSockdevState, wait_ms, 10000),
    DEFINE_PROP_BOOL("dma", MmioSockdevState, dma, false),
    DEFINE_PROP_BOOL("shm", MmioSockdevState, shm, false),
    DEFINE_PROP_UINT32("shm-spin-us", MmioSockdevState, shm_spin_us,
                       QME_SD_SHM_SPIN_US),
    DEFINE_PROP_UINT64("quantum-ns", MmioSockdevState, quantum_ns, 0),
};

/* Migration: the server's state travels in ours. */

static int mmio_sockdev_pre_save(void *opaque)
{
    MmioSockdevState *s = opaque;
    Error *err = NULL;

    if (qme_sd_qemu_client_save_state(s->link, s->state_buf, &s->state_len,
                                      &err) < 0) {
        error_report_err(err);
        return -EIO;
    }
    qme_sd_client_get_events(mmio_sockdev_client(s), s->events);
    trace_mmio_sockdev_state("save", s->state_len, QME_SD_ST_OK);
    return 0;
}

static bool mmio_sockdev_state_len_ok(void *opaque, int version_id)
{
    MmioSockdevState *s = opaque;

    return s->state_len <= QME_SD_MAX_DATA && s->irq_level <= 1;
}

static int mmio_sockdev_post_load(void *opaque, int version_id)
{
    MmioSockdevState *s = opaque;
    Error *err = NULL;

    qemu_set_irq(s->gic_input, s->irq_level);
    if (qme_sd_qemu_client_load_state(s->link, s->state_buf, s->state_len,
                                      &err) < 0) {
        error_report_err(err);
        return -EINVAL;
    }
    /* Without a server now, its events are gone as on any loss. */
    if (mmio_sockdev_connected(s)) {
        if (qme_sd_client_set_events(mmio_sockdev_client(s), s->events) < 0 &&
            errno == EINVAL) {
            error_report("%s: the migrated timed events are not valid",
                         TYPE_MMIO_SOCKDEV);
            return -EINVAL;
        }
        /* Lockstep goes on from the loaded clock. */
        qme_sd_client_set_lockstep(mmio_sockdev_client(s), s->quantum_ns);
    }
    trace_mmio_sockdev_state("restore", s->state_len, QME_SD_ST_OK);
    return 0;
}

static bool mmio_sockdev_events_needed(void *opaque)
{
    MmioSockdevState *s = opaque;
    unsigned i;

    for (i = 0; i < QME_SD_MAX_EVENTS; i++) {
        if (s->events[i].action) {
            return true;
        }
    }
    return false;
}

/* Only when the server has events pending: older QEMUs load the rest. */
static const VMStateDescription vmstate_mmio_sockdev_events = {
    .name = TYPE_MMIO_SOCKDEV "/events",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = mmio_sockdev_events_needed,
    .fields = (VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(events, MmioSockdevState, QME_SD_MAX_EVENTS, 1,
                             qme_sd_vmstate_event, QmeSdEvent),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription *mmio_sockdev_subsections[] = {
    &vmstate_mmio_sockdev_events,
    NULL
};

static const VMStateDescription vmstate_mmio_sockdev = {
    .name = TYPE_MMIO_SOCKDEV,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = mmio_sockdev_pre_save,
    .post_load = mmio_sockdev_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT32(irq_level, MmioSockdevState),
        VMSTATE_UINT32(state_len, MmioSockdevState),
        VMSTATE_VALIDATE("state fits", mmio_sockdev_state_len_ok),
        VMSTATE_VBUFFER_UINT32(state_buf, MmioSockdevState, 1, NULL,
                               state_len),
        VMSTATE_QME_REGS(bridge_values, MmioSockdevState),
        VMSTATE_END_OF_LIST()
    },
    .subsections = mmio_sockdev_subsections,
};

static void mmio_sockdev_instance_post_init(Object *obj)
{
    MmioSockdevState *s = MMIO_SOCKDEV(obj);

    /* String properties cannot carry defaults in 7.2's DEFINE_PROP_STRING. */
    if (!s->socket) {
        s->socket = g_strdup("tcp:127.0.0.1:7890");
    }
}

static void mmio_sockdev_class_init(ObjectClass *klass, QmeClassData data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->desc = "MMIO window served by an external device server over a "
               "socket (qemu-modules-extra)";
    dc->realize = mmio_sockdev_realize;
    device_class_set_legacy_reset(dc, mmio_sockdev_reset);
    dc->vmsd = &vmstate_mmio_sockdev;
    qme_platform_class_init(dc);
    device_class_set_props(dc, mmio_sockdev_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    object_class_property_set_description(klass, "socket",
        "device server address: tcp:HOST:PORT or unix:PATH "
        "(default tcp:127.0.0.1:7890)");
    object_class_property_set_description(klass, "protocol",
        "wire protocol: v1 (versioned), basic (reads and writes only, no "
        "handshake: the tutorial seed's format) or seed (same as basic)");
    object_class_property_set_description(klass, "on-absent",
        "no server at start: fail, wait (up to wait-ms) or run (start "
        "disconnected, reconnect in the background)");
    /* Not "(default ...)": -device help prints the defaults of these. */
    object_class_property_set_description(klass, "addr",
        "guest physical address of the window; the bridge block follows");
    object_class_property_set_description(klass, "size",
        "window size in bytes, a power of two");
    object_class_property_set_description(klass, "irq",
        "GIC SPI number of the interrupt line (176-255 are free on virt)");
    object_class_property_set_description(klass, "timeout-ms",
        "longest wait for a reply or a TCP connect, then the server is lost");
    object_class_property_set_description(klass, "reconnect-ms",
        "interval between reconnection attempts");
    object_class_property_set_description(klass, "wait-ms",
        "with on-absent=wait: how long to wait for the server at start");
    object_class_property_set_description(klass, "dma",
        "let the server read and write guest RAM (v1)");
    object_class_property_set_description(klass, "shm",
        "offer the server shared memory for reads and writes (protocol "
        "version 2, unix: sockets); a version-1 server is served over the "
        "socket");
    object_class_property_set_description(klass, "quantum-ns",
        "lockstep: the guest's virtual clock never runs a quantum (ns) "
        "ahead of the server's, which it syncs in steps of this size "
        "(version 2 servers; 0: off)");
    object_class_property_set_description(klass, "shm-spin-us",
        "with shm: how long a read busy-waits for its reply before it "
        "sleeps (not while the server runs on the vCPU's CPU)");
}

static const TypeInfo mmio_sockdev_info = {
    .name = TYPE_MMIO_SOCKDEV,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(MmioSockdevState),
    .instance_post_init = mmio_sockdev_instance_post_init,
    .class_init = mmio_sockdev_class_init,
};

static void mmio_sockdev_register_types(void)
{
    type_register_static(&mmio_sockdev_info);
}

type_init(mmio_sockdev_register_types)
