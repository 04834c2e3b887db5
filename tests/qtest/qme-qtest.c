/*
 * qme-qtest: a small qtest client for the distro QEMU.
 *
 * See qme-qtest.h for the API and README.md for an overview.  The wire
 * protocols are QEMU's: qtest (softmmu/qtest.c: one text command per line,
 * "OK ..." / "FAIL ..." replies, asynchronous "IRQ raise|lower N" lines) and
 * QMP (one JSON object per line).
 *
 * The harness listens on two abstract Unix sockets (Linux: no file system
 * entry) and starts QEMU with "-qtest unix:S,abstract=on -qmp
 * unix:Q,abstract=on", so QEMU connects to us while it initialises;
 * accepting is bounded by a timeout and by QEMU's death.  QEMU's stderr
 * goes to an already unlinked temporary file, and QEMU gets
 * PR_SET_PDEATHSIG: nothing is left behind even if the test process is
 * killed.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE

#include "qme-qtest.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define QME_DEFAULT_QEMU        "/usr/bin/qemu-system-aarch64"
#define QME_DEFAULT_TIMEOUT_S   30
#define QME_IRQ_LINES           1024
#define QME_STDERR_TAIL         4000
#define QME_QUIT_GRACE_MS       5000

#define PCI_COMMAND             0x04
#define PCI_COMMAND_IO          0x1
#define PCI_COMMAND_MEMORY      0x2
#define PCI_COMMAND_MASTER      0x4
#define PCI_STATUS              0x06
#define PCI_STATUS_CAP_LIST     0x10
#define PCI_HEADER_TYPE         0x0e
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_CAPABILITY_LIST     0x34
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_MSIX         0x11

typedef enum QmeReadStatus {
    QME_READ_OK,
    QME_READ_TIMEOUT,
    QME_READ_EOF,
} QmeReadStatus;

struct QmeQTest {
    pid_t pid;
    bool exited;
    int wait_status;            /* raw waitpid() status once exited */
    unsigned sent_signals;      /* bit n: we sent signal n */

    int qtest_fd;
    int qmp_fd;
    int out_fd;                 /* QEMU's stderr/stdout (unlinked file) */
    GString *out_buf;

    GString *qtest_rx;
    GString *qmp_rx;
    GQueue events;              /* of char *, QMP events not yet consumed */

    bool broken;
    /* The virtual clock as QEMU last reported it (clock_step/clock_set). */
    int64_t clock_ns;
    bool log;
    int timeout_ms;

    unsigned irq_raise[QME_IRQ_LINES];
    unsigned irq_lower[QME_IRQ_LINES];
    bool irq_level[QME_IRQ_LINES];

    const QmeMachine *machine;
    uint64_t mmio32_next;
    uint64_t mmio64_next;
    uint64_t io_next;
};

/*
 * Machines
 */

static const QmeMachine qme_machines[] = {
    {
        .name = "virt",
        .ram_base = QME_VIRT_RAM_BASE,
        .ecam_base = QME_VIRT_PCIE_ECAM_BASE,
        .mmio32_base = QME_VIRT_PCIE_MMIO_BASE,
        .mmio32_end = QME_VIRT_PCIE_MMIO_END,
        .mmio64_base = QME_VIRT_PCIE_MMIO_HIGH,
        .mmio64_end = QME_VIRT_PCIE_MMIO_HIGH_END,
        .io_base = 0x1000,
        .io_end = QME_VIRT_PCIE_PIO_SIZE - 1,
        .pio_window = QME_VIRT_PCIE_PIO_BASE,
        .unassigned = 0xffffffff,
    }, {
        .name = "q35",
        .ram_base = QME_Q35_RAM_BASE,
        .ecam_base = QME_Q35_PCIE_ECAM_BASE,
        .mmio32_base = QME_Q35_PCIE_MMIO_BASE,
        .mmio32_end = QME_Q35_PCIE_MMIO_END,
        .mmio64_base = QME_Q35_PCIE_MMIO_HIGH,
        .mmio64_end = QME_Q35_PCIE_MMIO_HIGH_END,
        /* SeaBIOS's range: clear of vmport (0x5658) and the chipset. */
        .io_base = 0xc000,
        .io_end = 0xffff,
        /* 256 buses (length field 0), enabled. */
        .pciexbar = (uint32_t)QME_Q35_PCIE_ECAM_BASE | 1,
    },
};

static const QmeMachine *qme_machine(void)
{
    const char *name = g_getenv("QME_QTEST_MACHINE");

    for (int i = 0; name && *name && i < G_N_ELEMENTS(qme_machines); i++) {
        if (g_str_equal(name, qme_machines[i].name)) {
            return &qme_machines[i];
        }
    }
    if (name && *name) {
        g_error("QME_QTEST_MACHINE=%s: the harness knows virt and q35", name);
    }
    return &qme_machines[0];
}

const char *qme_qtest_machine(void)
{
    return qme_machine()->name;
}

bool qme_qtest_machine_is(const char *name)
{
    return g_str_equal(qme_machine()->name, name);
}

const QmeMachine *qme_qtest_machine_info(void)
{
    return qme_machine();
}

uint64_t qme_qtest_ram_base(void)
{
    return qme_machine()->ram_base;
}

uint32_t qme_qtest_unassigned_readl(void)
{
    return qme_machine()->unassigned;
}

/*
 * Diagnostics
 */

static int qme_default_timeout_ms(void)
{
    const char *s = g_getenv("QME_QTEST_TIMEOUT");
    int secs = s ? atoi(s) : 0;

    return (secs > 0 ? secs : QME_DEFAULT_TIMEOUT_S) * 1000;
}

static void qme_report(const char *msg)
{
    if (g_test_initialized()) {
        g_auto(GStrv) lines = g_strsplit(msg, "\n", -1);
        int i;

        for (i = 0; lines[i]; i++) {
            if (!lines[i][0] && !lines[i + 1]) {
                break;
            }
            /* -q (as in g_test_trap_subprocess()) drops messages. */
            if (g_test_quiet()) {
                g_printerr("# %s\n", lines[i]);
            } else {
                g_test_message("%s", lines[i]);
            }
        }
        g_test_fail();
    } else {
        g_printerr("qme-qtest: %s\n", msg);
        abort();
    }
}

const char *qme_qtest_stderr(QmeQTest *qt)
{
    char buf[4096];
    ssize_t n;

    if (!qt || qt->out_fd < 0) {
        return "";
    }
    for (;;) {
        n = pread(qt->out_fd, buf, sizeof(buf), qt->out_buf->len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        g_string_append_len(qt->out_buf, buf, n);
    }
    return qt->out_buf->str;
}

static void G_GNUC_PRINTF(2, 3) qme_fail(QmeQTest *qt, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    GString *full;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    full = g_string_new("qme-qtest: ");
    g_string_append(full, msg);
    if (qt) {
        const char *err = qme_qtest_stderr(qt);
        size_t len = strlen(err);

        qt->broken = true;
        if (len) {
            g_string_append(full, "\nQEMU output:\n");
            if (len > QME_STDERR_TAIL) {
                g_string_append(full, "[...]");
                err += len - QME_STDERR_TAIL;
            }
            g_string_append(full, err);
        }
    }
    qme_report(full->str);
    g_string_free(full, TRUE);
}

bool qme_qtest_ok(QmeQTest *qt)
{
    return qt && !qt->broken;
}

pid_t qme_qtest_pid(QmeQTest *qt)
{
    return qt ? qt->pid : -1;
}

/*
 * Processes
 */

static int qme_status_code(int wait_status)
{
    if (WIFEXITED(wait_status)) {
        return WEXITSTATUS(wait_status);
    }
    if (WIFSIGNALED(wait_status)) {
        return 128 + WTERMSIG(wait_status);
    }
    return -1;
}

char **qme_qemu_environ(void)
{
    char **env = g_get_environ();
    const char *loader = g_getenv("QME_LOADER");

    if (loader && *loader) {
        env = g_environ_setenv(env, "LD_PRELOAD", loader, TRUE);
    }
    return env;
}

static const char *qme_qemu_binary(void)
{
    const char *qemu = g_getenv("QME_QEMU");

    return qemu && *qemu ? qemu : QME_DEFAULT_QEMU;
}

/* fork + exec @argv with stdin from /dev/null, stdout+stderr to @out_fd. */
static pid_t qme_spawn(char **argv, int out_fd)
{
    char **env = qme_qemu_environ();
    pid_t parent = getpid();
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        /* Die with the test process, whatever kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        /* Own process group: a ^C of the test must not race our SIGTERM. */
        setpgid(0, 0);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
        }
        dup2(out_fd, STDOUT_FILENO);
        dup2(out_fd, STDERR_FILENO);
        execve(argv[0], argv, env);
        dprintf(STDERR_FILENO, "qme-qtest: cannot execute %s: %s\n",
                argv[0], strerror(errno));
        _exit(127);
    }
    if (devnull >= 0) {
        close(devnull);
    }
    g_strfreev(env);
    return pid;
}

static int qme_open_capture(void)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("qme-qtest-XXXXXX.log", &path, NULL);

    if (fd >= 0) {
        g_unlink(path);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return fd;
}

static bool qme_reap(QmeQTest *qt)
{
    int st;
    pid_t r;

    if (qt->exited) {
        return true;
    }
    do {
        r = waitpid(qt->pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == qt->pid) {
        qt->exited = true;
        qt->wait_status = st;
        return true;
    }
    if (r < 0) {
        /* Not our child any more (should not happen): treat as gone. */
        qt->exited = true;
        qt->wait_status = 0;
        return true;
    }
    return false;
}

void qme_qtest_set_timeout(QmeQTest *qt, int timeout_ms)
{
    if (qt && timeout_ms > 0) {
        qt->timeout_ms = timeout_ms;
    }
}

bool qme_qtest_wait_exit(QmeQTest *qt, int timeout_ms, int *status)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    if (!qt) {
        return false;
    }
    while (!qme_reap(qt)) {
        if (g_get_monotonic_time() >= deadline) {
            return false;
        }
        g_usleep(2000);
    }
    if (status) {
        *status = qme_status_code(qt->wait_status);
    }
    return true;
}

void qme_qtest_kill(QmeQTest *qt, int sig)
{
    if (qt && !qme_reap(qt)) {
        if (sig > 0 && sig < 32) {
            qt->sent_signals |= 1u << sig;
        }
        kill(qt->pid, sig);
    }
}

static void qme_qtest_free(QmeQTest *qt)
{
    if (qt->qtest_fd >= 0) {
        close(qt->qtest_fd);
    }
    if (qt->qmp_fd >= 0) {
        close(qt->qmp_fd);
    }
    if (qt->out_fd >= 0) {
        close(qt->out_fd);
    }
    g_string_free(qt->out_buf, TRUE);
    g_string_free(qt->qtest_rx, TRUE);
    g_string_free(qt->qmp_rx, TRUE);
    g_queue_clear_full(&qt->events, g_free);
    g_free(qt);
}

void qme_qtest_quit(QmeQTest *qt)
{
    if (!qt) {
        return;
    }
    if (!qme_reap(qt)) {
        qme_qtest_kill(qt, SIGTERM);
        if (!qme_qtest_wait_exit(qt, QME_QUIT_GRACE_MS, NULL)) {
            qme_qtest_kill(qt, SIGKILL);
            qme_qtest_wait_exit(qt, QME_QUIT_GRACE_MS, NULL);
        }
    }
    if (qt->exited && WIFSIGNALED(qt->wait_status)) {
        int sig = WTERMSIG(qt->wait_status);

        if (sig >= 32 || !(qt->sent_signals & (1u << sig))) {
            qme_fail(qt, "QEMU (pid %d) died of signal %d (%s)",
                     (int)qt->pid, sig, strsignal(sig));
        }
    }
    qme_qtest_free(qt);
}

int qme_qemu_run(const char *args, int timeout_ms, char **output)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) user = NULL;
    g_autoptr(GError) err = NULL;
    QmeQTest tmp = { 0 };
    int out_fd, status = -1, i;
    const char *const base[] = {
        "-M", qme_machine()->name, "-accel", "qtest", "-display", "none",
        "-nodefaults",
        "-nic", "none", "-serial", "none", "-monitor", "none",
    };

    if (output) {
        *output = NULL;
    }
    if (args && *args && !g_shell_parse_argv(args, NULL, &user, &err)) {
        qme_fail(NULL, "cannot parse QEMU arguments '%s': %s", args,
                 err->message);
        return -1;
    }
    out_fd = qme_open_capture();
    if (out_fd < 0) {
        qme_fail(NULL, "cannot create a temporary file");
        return -1;
    }
    g_ptr_array_add(argv, g_strdup(qme_qemu_binary()));
    for (i = 0; i < G_N_ELEMENTS(base); i++) {
        g_ptr_array_add(argv, g_strdup(base[i]));
    }
    for (i = 0; user && user[i]; i++) {
        g_ptr_array_add(argv, g_strdup(user[i]));
    }
    g_ptr_array_add(argv, NULL);

    tmp.pid = qme_spawn((char **)argv->pdata, out_fd);
    tmp.out_fd = out_fd;
    tmp.out_buf = g_string_new(NULL);
    if (tmp.pid < 0) {
        qme_fail(NULL, "fork: %s", strerror(errno));
    } else if (qme_qtest_wait_exit(&tmp, timeout_ms, &status)) {
        /* done */
    } else {
        kill(tmp.pid, SIGKILL);
        qme_qtest_wait_exit(&tmp, QME_QUIT_GRACE_MS, NULL);
        status = -1;
    }
    if (output) {
        *output = g_strdup(qme_qtest_stderr(&tmp));
    }
    g_string_free(tmp.out_buf, TRUE);
    close(out_fd);
    return status;
}

/*
 * Sockets
 */

/* Listen on abstract socket @name (QEMU's "abstract=on,tight=on"). */
static int qme_listen_abstract(const char *name)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t len = strlen(name);
    int fd;

    if (len + 1 > sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun.sun_path + 1, name, len);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun,
             offsetof(struct sockaddr_un, sun_path) + 1 + len) < 0 ||
        listen(fd, 1) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int qme_remaining_ms(gint64 deadline)
{
    gint64 left = deadline - g_get_monotonic_time();

    if (left <= 0) {
        return 0;
    }
    return (int)MIN((left + 999) / 1000, G_MAXINT);
}

/*
 * Accept the qtest and QMP connections, in whatever order QEMU makes them,
 * watching for QEMU's death.
 */
static bool qme_accept_both(QmeQTest *qt, int lfd_qtest, int lfd_qmp,
                            gint64 deadline)
{
    while (qt->qtest_fd < 0 || qt->qmp_fd < 0) {
        struct pollfd pfd[2] = {
            { .fd = qt->qtest_fd < 0 ? lfd_qtest : -1, .events = POLLIN },
            { .fd = qt->qmp_fd < 0 ? lfd_qmp : -1, .events = POLLIN },
        };
        int r, i;

        if (qme_reap(qt)) {
            const char *loader = g_getenv("QME_LOADER");

            qme_fail(qt, "QEMU exited with status %d before connecting "
                     "its %s socket%s", qme_status_code(qt->wait_status),
                     qt->qtest_fd < 0 ? "qtest" : "QMP",
                     loader && *loader ? "" :
                     "\n(QME_LOADER is not set: run the test through "
                     "'meson test', which sets QME_LOADER and "
                     "QME_MODULE_PATH)");
            return false;
        }
        if (!qme_remaining_ms(deadline)) {
            qme_fail(qt, "timeout: QEMU did not connect its %s socket "
                     "within %d ms", qt->qtest_fd < 0 ? "qtest" : "QMP",
                     qt->timeout_ms);
            return false;
        }
        r = poll(pfd, 2, MIN(qme_remaining_ms(deadline), 50));
        if (r < 0 && errno != EINTR) {
            qme_fail(qt, "poll: %s", strerror(errno));
            return false;
        }
        for (i = 0; r > 0 && i < 2; i++) {
            int fd;

            if (!(pfd[i].revents & POLLIN)) {
                continue;
            }
            fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                continue;
            }
            if (i == 0) {
                qt->qtest_fd = fd;
            } else {
                qt->qmp_fd = fd;
            }
        }
    }
    return true;
}

static void qme_log(QmeQTest *qt, const char *chan, const char *dir,
                    const char *line)
{
    if (qt->log) {
        g_printerr("# [%s %d] %s %s\n", chan, (int)qt->pid, dir, line);
    }
}

static bool qme_send_all(QmeQTest *qt, int fd, const char *buf, size_t len)
{
    gint64 deadline = g_get_monotonic_time() + qt->timeout_ms * 1000LL;

    while (len) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };

            if (!qme_remaining_ms(deadline)) {
                qme_fail(qt, "timeout writing to QEMU");
                return false;
            }
            poll(&pfd, 1, MIN(qme_remaining_ms(deadline), 100));
            continue;
        }
        qme_fail(qt, "write to QEMU failed: %s",
                 n < 0 ? strerror(errno) : "short write");
        return false;
    }
    return true;
}

/*
 * Take the next line out of @rx, reading @fd until one is complete, EOF
 * or @deadline.  The line is returned without its end of line.
 */
static QmeReadStatus qme_read_line(QmeQTest *qt, int fd, GString *rx,
                                   gint64 deadline, char **line)
{
    for (;;) {
        char *nl = memchr(rx->str, '\n', rx->len);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char buf[65536];
        ssize_t n;

        if (nl) {
            size_t len = nl - rx->str;

            *line = g_strndup(rx->str, len);
            if (len && (*line)[len - 1] == '\r') {
                (*line)[len - 1] = '\0';
            }
            g_string_erase(rx, 0, len + 1);
            return QME_READ_OK;
        }
        n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(rx, buf, n);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return QME_READ_EOF;
        }
        if (!qme_remaining_ms(deadline)) {
            return QME_READ_TIMEOUT;
        }
        poll(&pfd, 1, qme_remaining_ms(deadline));
    }
}

static void qme_read_failed(QmeQTest *qt, const char *chan,
                            QmeReadStatus st, const char *what)
{
    if (st == QME_READ_TIMEOUT) {
        qme_fail(qt, "timeout (%d ms) waiting for the %s reply to '%s'",
                 qt->timeout_ms, chan, what);
    } else {
        int code;

        if (qme_qtest_wait_exit(qt, 1000, &code)) {
            qme_fail(qt, "QEMU exited with status %d (%s connection closed "
                     "during '%s')", code, chan, what);
        } else {
            qme_fail(qt, "QEMU closed the %s connection during '%s'", chan,
                     what);
        }
    }
}

/*
 * qtest protocol
 */

static bool qme_qtest_irq_line(QmeQTest *qt, const char *line)
{
    int n;

    if (!g_str_has_prefix(line, "IRQ ")) {
        return false;
    }
    if (sscanf(line, "IRQ raise %d", &n) == 1) {
        if (n >= 0 && n < QME_IRQ_LINES) {
            qt->irq_raise[n]++;
            qt->irq_level[n] = true;
        }
    } else if (sscanf(line, "IRQ lower %d", &n) == 1) {
        if (n >= 0 && n < QME_IRQ_LINES) {
            qt->irq_lower[n]++;
            qt->irq_level[n] = false;
        }
    }
    return true;
}

/*
 * Send one qtest command and return its reply line with "OK" and the
 * following blank stripped (so "" for a bare OK), or NULL.  A FAIL reply
 * goes to *@fail (the text after "FAIL ") when @fail is given, and is
 * reported as a test failure otherwise; any other failure is reported.
 */
static char *qme_qtest_vcmd(QmeQTest *qt, char **fail, const char *fmt,
                            va_list ap)
{
    g_autofree char *cmd = NULL;
    g_autofree char *wire = NULL;
    gint64 deadline;

    if (!qt || qt->broken) {
        return NULL;
    }
    cmd = g_strdup_vprintf(fmt, ap);
    qme_log(qt, "qtest", ">", cmd);
    wire = g_strconcat(cmd, "\n", NULL);
    if (!qme_send_all(qt, qt->qtest_fd, wire, strlen(wire))) {
        return NULL;
    }
    deadline = g_get_monotonic_time() + qt->timeout_ms * 1000LL;
    for (;;) {
        char *line = NULL;
        QmeReadStatus st = qme_read_line(qt, qt->qtest_fd, qt->qtest_rx,
                                         deadline, &line);

        if (st != QME_READ_OK) {
            qme_read_failed(qt, "qtest", st, cmd);
            return NULL;
        }
        qme_log(qt, "qtest", "<", line);
        if (qme_qtest_irq_line(qt, line)) {
            g_free(line);
            continue;
        }
        if (g_str_equal(line, "OK") || g_str_has_prefix(line, "OK ")) {
            char *rest = g_strdup(line + (line[2] ? 3 : 2));

            g_free(line);
            return rest;
        }
        if (fail && g_str_has_prefix(line, "FAIL ")) {
            *fail = g_strdup(line + 5);
        } else {
            qme_fail(qt, "qtest command '%s' failed: %s", cmd, line);
        }
        g_free(line);
        return NULL;
    }
}

static char *G_GNUC_PRINTF(3, 4) qme_qtest_cmd_or_fail(QmeQTest *qt,
                                                        char **fail,
                                                        const char *fmt, ...)
{
    va_list ap;
    char *r;

    va_start(ap, fmt);
    r = qme_qtest_vcmd(qt, fail, fmt, ap);
    va_end(ap);
    return r;
}

#define qme_qtest_cmd(qt, ...) qme_qtest_cmd_or_fail(qt, NULL, __VA_ARGS__)

static uint64_t qme_qtest_read_n(QmeQTest *qt, char w, uint64_t addr)
{
    g_autofree char *r = qme_qtest_cmd(qt, "read%c 0x%" PRIx64, w, addr);

    return r ? g_ascii_strtoull(r, NULL, 0) : 0;
}

static void qme_qtest_write_n(QmeQTest *qt, char w, uint64_t addr,
                              uint64_t val)
{
    g_free(qme_qtest_cmd(qt, "write%c 0x%" PRIx64 " 0x%" PRIx64,
                         w, addr, val));
}

uint8_t qme_qtest_readb(QmeQTest *qt, uint64_t addr)
{
    return qme_qtest_read_n(qt, 'b', addr);
}

uint16_t qme_qtest_readw(QmeQTest *qt, uint64_t addr)
{
    return qme_qtest_read_n(qt, 'w', addr);
}

uint32_t qme_qtest_readl(QmeQTest *qt, uint64_t addr)
{
    return qme_qtest_read_n(qt, 'l', addr);
}

uint64_t qme_qtest_readq(QmeQTest *qt, uint64_t addr)
{
    return qme_qtest_read_n(qt, 'q', addr);
}

void qme_qtest_writeb(QmeQTest *qt, uint64_t addr, uint8_t val)
{
    qme_qtest_write_n(qt, 'b', addr, val);
}

void qme_qtest_writew(QmeQTest *qt, uint64_t addr, uint16_t val)
{
    qme_qtest_write_n(qt, 'w', addr, val);
}

void qme_qtest_writel(QmeQTest *qt, uint64_t addr, uint32_t val)
{
    qme_qtest_write_n(qt, 'l', addr, val);
}

void qme_qtest_writeq(QmeQTest *qt, uint64_t addr, uint64_t val)
{
    qme_qtest_write_n(qt, 'q', addr, val);
}

#define QME_MEM_CHUNK (256 * 1024)

void qme_qtest_memread(QmeQTest *qt, uint64_t addr, void *buf, size_t len)
{
    uint8_t *p = buf;

    memset(buf, 0, len);
    while (len) {
        size_t n = MIN(len, QME_MEM_CHUNK);
        g_autofree char *r = qme_qtest_cmd(qt, "b64read 0x%" PRIx64 " 0x%zx",
                                           addr, n);
        g_autofree guchar *data = NULL;
        gsize got = 0;

        if (!r) {
            return;
        }
        data = g_base64_decode(r, &got);
        if (got != n) {
            qme_fail(qt, "b64read of %zu bytes returned %zu", n,
                     (size_t)got);
            return;
        }
        memcpy(p, data, n);
        p += n;
        addr += n;
        len -= n;
    }
}

void qme_qtest_memwrite(QmeQTest *qt, uint64_t addr, const void *buf,
                        size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        size_t n = MIN(len, QME_MEM_CHUNK);
        g_autofree char *b64 = g_base64_encode(p, n);
        g_autofree char *r = qme_qtest_cmd(qt, "b64write 0x%" PRIx64
                                           " 0x%zx %s", addr, n, b64);

        if (!r) {
            return;
        }
        p += n;
        addr += n;
        len -= n;
    }
}

void qme_qtest_memset(QmeQTest *qt, uint64_t addr, uint8_t val, size_t len)
{
    if (len) {
        g_free(qme_qtest_cmd(qt, "memset 0x%" PRIx64 " 0x%zx 0x%02x",
                             addr, len, val));
    }
}

int64_t qme_qtest_clock_step(QmeQTest *qt, int64_t ns)
{
    g_autofree char *fail = NULL;
    g_autofree char *r = ns > 0 ?
        qme_qtest_cmd(qt, "clock_step %" PRId64, ns) :
        qme_qtest_cmd_or_fail(qt, &fail, "clock_step");

    /*
     * With no timer pending, QEMU 7.2 leaves the clock where it is and
     * 10.0 refuses the step: the same thing.
     */
    if (fail) {
        if (strstr(fail, "no pending deadline")) {
            return qt->clock_ns;
        }
        qme_fail(qt, "qtest command 'clock_step' failed: FAIL %s", fail);
        return -1;
    }
    if (r) {
        qt->clock_ns = g_ascii_strtoll(r, NULL, 10);
    }
    return r ? qt->clock_ns : -1;
}

int64_t qme_qtest_clock_set(QmeQTest *qt, int64_t ns)
{
    g_autofree char *r = qme_qtest_cmd(qt, "clock_set %" PRId64, ns);

    if (r) {
        qt->clock_ns = g_ascii_strtoll(r, NULL, 10);
    }
    return r ? qt->clock_ns : -1;
}

/*
 * IRQs
 */

static bool qme_qtest_irq_intercept(QmeQTest *qt, const char *dir,
                                    const char *qom_path)
{
    g_autofree char *r = qme_qtest_cmd(qt, "irq_intercept_%s %s", dir,
                                       qom_path);

    return r != NULL;
}

bool qme_qtest_irq_intercept_in(QmeQTest *qt, const char *qom_path)
{
    return qme_qtest_irq_intercept(qt, "in", qom_path);
}

bool qme_qtest_irq_intercept_out(QmeQTest *qt, const char *qom_path)
{
    return qme_qtest_irq_intercept(qt, "out", qom_path);
}

bool qme_qtest_intercept_gic(QmeQTest *qt)
{
    g_autofree char *gic = qme_qtest_qom_find_type(qt, "/machine",
                                                   "arm_gic");

    if (!gic) {
        qme_fail(qt, "no arm_gic under /machine (virt's GICv2)");
        return false;
    }
    return qme_qtest_irq_intercept_in(qt, gic);
}

/*
 * Consume the asynchronous lines QEMU already sent on the qtest socket.
 * Anything but an IRQ line is a protocol error: no command is outstanding.
 */
static void qme_qtest_drain(QmeQTest *qt)
{
    char *line;

    while (!qt->broken) {
        QmeReadStatus st = qme_read_line(qt, qt->qtest_fd, qt->qtest_rx, 0,
                                         &line);

        if (st == QME_READ_TIMEOUT) {
            return;
        }
        if (st == QME_READ_EOF) {
            qme_read_failed(qt, "qtest", st, "(waiting for IRQs)");
            return;
        }
        qme_log(qt, "qtest", "<", line);
        if (!qme_qtest_irq_line(qt, line)) {
            qme_fail(qt, "unexpected qtest line '%s'", line);
        }
        g_free(line);
    }
}

void qme_qtest_irq_poll(QmeQTest *qt)
{
    if (qt && !qt->broken) {
        qme_qtest_drain(qt);
    }
}

static bool qme_irq_line_ok(int line)
{
    return line >= 0 && line < QME_IRQ_LINES;
}

bool qme_qtest_irq_level(QmeQTest *qt, int line)
{
    qme_qtest_irq_poll(qt);
    return qt && qme_irq_line_ok(line) && qt->irq_level[line];
}

unsigned qme_qtest_irq_raise_count(QmeQTest *qt, int line)
{
    qme_qtest_irq_poll(qt);
    return qt && qme_irq_line_ok(line) ? qt->irq_raise[line] : 0;
}

unsigned qme_qtest_irq_lower_count(QmeQTest *qt, int line)
{
    qme_qtest_irq_poll(qt);
    return qt && qme_irq_line_ok(line) ? qt->irq_lower[line] : 0;
}

void qme_qtest_irq_clear_counts(QmeQTest *qt)
{
    if (qt) {
        qme_qtest_irq_poll(qt);
        memset(qt->irq_raise, 0, sizeof(qt->irq_raise));
        memset(qt->irq_lower, 0, sizeof(qt->irq_lower));
    }
}

bool qme_qtest_irq_wait_raised(QmeQTest *qt, int line, unsigned count,
                               int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    if (!qt || !qme_irq_line_ok(line)) {
        return false;
    }
    for (;;) {
        qme_qtest_irq_poll(qt);
        if (qt->irq_raise[line] >= count) {
            return true;
        }
        if (qt->broken || !qme_remaining_ms(deadline)) {
            return false;
        }
        /* Block until a line arrives or the deadline passes. */
        {
            struct pollfd pfd = { .fd = qt->qtest_fd, .events = POLLIN };

            poll(&pfd, 1, qme_remaining_ms(deadline));
        }
    }
}

/*
 * Minimal JSON
 */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

/* @p at '"'; returns the character after the closing quote or NULL. */
static const char *json_skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && !*++p) {
            return NULL;
        }
    }
    return *p ? p + 1 : NULL;
}

/* Returns the end of the value starting at @p, or NULL if malformed. */
static const char *json_skip_value(const char *p)
{
    int depth = 0;

    p = json_ws(p);
    if (*p == '"') {
        return json_skip_string(p);
    }
    if (*p != '{' && *p != '[') {
        const char *s = p;

        while (*p && !strchr(",}] \t\r\n", *p)) {
            p++;
        }
        return p > s ? p : NULL;
    }
    while (*p) {
        if (*p == '"') {
            p = json_skip_string(p);
            if (!p) {
                return NULL;
            }
            continue;
        }
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (--depth == 0) {
                return p + 1;
            }
        }
        p++;
    }
    return NULL;
}

static char *json_unescape(const char *s, const char *end)
{
    GString *out = g_string_new(NULL);

    while (s < end) {
        if (*s != '\\') {
            g_string_append_c(out, *s++);
            continue;
        }
        s++;
        switch (*s) {
        case 'b':
            g_string_append_c(out, '\b');
            break;
        case 'f':
            g_string_append_c(out, '\f');
            break;
        case 'n':
            g_string_append_c(out, '\n');
            break;
        case 'r':
            g_string_append_c(out, '\r');
            break;
        case 't':
            g_string_append_c(out, '\t');
            break;
        case 'u':
            if (end - s >= 5) {
                char hex[5] = { s[1], s[2], s[3], s[4], 0 };

                g_string_append_unichar(out, g_ascii_strtoull(hex, NULL, 16));
                s += 4;
            }
            break;
        default:
            g_string_append_c(out, *s);
            break;
        }
        s++;
    }
    return g_string_free(out, FALSE);
}

/* Past the value at @p and its comma, at the next member; NULL at the end. */
static const char *json_next_member(const char *p)
{
    p = json_skip_value(p);
    if (!p) {
        return NULL;
    }
    p = json_ws(p);
    return *p == ',' ? json_ws(p + 1) : NULL;
}

/* Start of the value at @path in @json, or NULL. */
static const char *json_lookup(const char *json, const char *path)
{
    g_auto(GStrv) segs = g_strsplit(path, ".", -1);
    const char *p = json_ws(json);
    int i;

    for (i = 0; segs[i]; i++) {
        const char *seg = segs[i];
        bool found = false;

        if (*p == '{') {
            p = json_ws(p + 1);
            while (*p == '"') {
                const char *ks = p + 1, *ke = json_skip_string(p);
                size_t klen;

                if (!ke) {
                    return NULL;
                }
                klen = ke - 1 - ks;
                p = json_ws(ke);
                if (*p != ':') {
                    return NULL;
                }
                p = json_ws(p + 1);
                if (klen == strlen(seg) && !memcmp(ks, seg, klen)) {
                    found = true;
                    break;
                }
                p = json_next_member(p);
                if (!p) {
                    return NULL;
                }
            }
        } else if (*p == '[' && g_ascii_isdigit(seg[0])) {
            gint64 idx = g_ascii_strtoll(seg, NULL, 10);

            p = json_ws(p + 1);
            while (*p && *p != ']') {
                if (idx-- == 0) {
                    found = true;
                    break;
                }
                p = json_next_member(p);
                if (!p) {
                    return NULL;
                }
            }
        }
        if (!found) {
            return NULL;
        }
    }
    return p;
}

char *qme_json_get(const char *json, const char *path)
{
    const char *v, *end;

    if (!json) {
        return NULL;
    }
    v = json_lookup(json, path);
    if (!v) {
        return NULL;
    }
    end = json_skip_value(v);
    if (!end) {
        return NULL;
    }
    if (*v == '"') {
        return json_unescape(v + 1, end - 1);
    }
    return g_strndup(v, end - v);
}

bool qme_json_has(const char *json, const char *path)
{
    return json && json_lookup(json, path) != NULL;
}

char *qme_json_quote(const char *s)
{
    GString *out = g_string_new("\"");

    for (; *s; s++) {
        unsigned char c = *s;

        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, c);
        } else if (c < 0x20) {
            g_string_append_printf(out, "\\u%04x", c);
        } else {
            g_string_append_c(out, c);
        }
    }
    g_string_append_c(out, '"');
    return g_string_free(out, FALSE);
}

/*
 * QMP
 */

bool qme_qmp_is_return(const char *reply)
{
    return qme_json_has(reply, "return");
}

bool qme_qmp_is_error(const char *reply)
{
    return qme_json_has(reply, "error");
}

/* Read the next non-event QMP message, queueing events. */
static char *qme_qmp_recv(QmeQTest *qt, const char *what, gint64 deadline,
                          bool quiet_timeout)
{
    for (;;) {
        char *line = NULL;
        QmeReadStatus st = qme_read_line(qt, qt->qmp_fd, qt->qmp_rx,
                                         deadline, &line);

        if (st != QME_READ_OK) {
            if (!(st == QME_READ_TIMEOUT && quiet_timeout)) {
                qme_read_failed(qt, "QMP", st, what);
            }
            return NULL;
        }
        qme_log(qt, "qmp", "<", line);
        if (!*line) {
            g_free(line);
            continue;
        }
        if (qme_json_has(line, "event")) {
            g_queue_push_tail(&qt->events, line);
            if (quiet_timeout) {
                return NULL;    /* let the event waiter look at it */
            }
            continue;
        }
        return line;
    }
}

static char *qme_qtest_qmpv(QmeQTest *qt, const char *fmt, va_list ap)
{
    g_autofree char *cmd = NULL;
    g_autofree char *wire = NULL;

    if (!qt || qt->broken) {
        return NULL;
    }
    cmd = g_strdup_vprintf(fmt, ap);
    qme_log(qt, "qmp", ">", cmd);
    wire = g_strconcat(cmd, "\n", NULL);
    if (!qme_send_all(qt, qt->qmp_fd, wire, strlen(wire))) {
        return NULL;
    }
    return qme_qmp_recv(qt, cmd,
                        g_get_monotonic_time() + qt->timeout_ms * 1000LL,
                        false);
}

char *qme_qtest_qmp(QmeQTest *qt, const char *fmt, ...)
{
    va_list ap;
    char *r;

    va_start(ap, fmt);
    r = qme_qtest_qmpv(qt, fmt, ap);
    va_end(ap);
    return r;
}

char *qme_qtest_qmp_ok(QmeQTest *qt, const char *fmt, ...)
{
    va_list ap;
    char *r;

    va_start(ap, fmt);
    r = qme_qtest_qmpv(qt, fmt, ap);
    va_end(ap);
    if (r && !qme_qmp_is_return(r)) {
        /* Not a protocol error: keep the handle usable. */
        g_test_message("qme-qtest: QMP command failed: %s", r);
        if (g_test_initialized()) {
            g_test_fail();
        }
        g_free(r);
        return NULL;
    }
    return r;
}

char *qme_qtest_qmp_wait_event(QmeQTest *qt, const char *event,
                               int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    if (!qt || qt->broken) {
        return NULL;
    }
    for (;;) {
        GList *l;
        char *r;

        for (l = qt->events.head; l; l = l->next) {
            g_autofree char *name = qme_json_get(l->data, "event");

            if (name && g_str_equal(name, event)) {
                r = l->data;
                g_queue_delete_link(&qt->events, l);
                return r;
            }
        }
        if (!qme_remaining_ms(deadline)) {
            return NULL;
        }
        r = qme_qmp_recv(qt, event, deadline, true);
        if (r) {
            qme_log(qt, "qmp", "(dropped unexpected reply)", r);
            g_free(r);
        }
        if (qt->broken) {
            return NULL;
        }
    }
}

char *qme_qtest_hmp(QmeQTest *qt, const char *fmt, ...)
{
    g_autofree char *cmd = NULL;
    g_autofree char *q = NULL;
    g_autofree char *r = NULL;
    va_list ap;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    q = qme_json_quote(cmd);
    r = qme_qtest_qmp_ok(qt, "{\"execute\": \"human-monitor-command\", "
                         "\"arguments\": {\"command-line\": %s}}", q);
    return r ? qme_json_get(r, "return") : NULL;
}

unsigned qme_qtest_xp_words(QmeQTest *qt, uint64_t addr, unsigned count,
                            uint32_t *words)
{
    g_autofree char *out = qme_qtest_hmp(qt, "xp /%uwx 0x%" PRIx64, count,
                                         addr);
    g_auto(GStrv) lines = g_strsplit(out ? out : "", "\n", -1);
    unsigned n = 0, i;

    /* Lines "ADDRESS: 0xWORD 0xWORD ...", the address in hex digits. */
    for (i = 0; lines[i] && n < count; i++) {
        const char *p = lines[i];
        char *end;

        if (!g_ascii_isxdigit(*p)) {
            continue;
        }
        while (g_ascii_isxdigit(*p)) {
            p++;
        }
        if (*p != ':') {
            continue;
        }
        p++;
        while (n < count) {
            while (*p == ' ') {
                p++;
            }
            if (strncmp(p, "0x", 2) != 0) {
                break;
            }
            words[n++] = (uint32_t)g_ascii_strtoull(p, &end, 16);
            p = end;
        }
    }
    return n;
}

/*
 * What firmware would do before any test: on q35, map MMCONFIG (the MCH's
 * PCIEXBAR, through the legacy 0xcf8/0xcfc ports) so that config space,
 * extended capabilities included, is ECAM as on virt.  Also after a reset,
 * which unmaps it.
 */
static void qme_machine_init(QmeQTest *qt)
{
    const QmeMachine *m = qt->machine;

    qt->mmio32_next = m->mmio32_base;
    qt->mmio64_next = m->mmio64_base;
    qt->io_next = m->io_base;
    if (m->pciexbar) {
        /* PCIEXBAR: config offset 0x60 of the host bridge at 00:00.0. */
        g_free(qme_qtest_cmd(qt, "outl 0xcf8 0x80000064"));
        g_free(qme_qtest_cmd(qt, "outl 0xcfc 0x0"));
        g_free(qme_qtest_cmd(qt, "outl 0xcf8 0x80000060"));
        g_free(qme_qtest_cmd(qt, "outl 0xcfc 0x%x", m->pciexbar));
    }
}

bool qme_qtest_system_reset(QmeQTest *qt)
{
    g_autofree char *r = qme_qtest_qmp_ok(qt,
                                          "{\"execute\": \"system_reset\"}");
    g_autofree char *ev = NULL;

    if (!r) {
        return false;
    }
    ev = qme_qtest_qmp_wait_event(qt, "RESET", qt->timeout_ms);
    if (!ev) {
        if (!qt->broken) {
            qme_fail(qt, "no RESET event within %d ms after system_reset",
                     qt->timeout_ms);
        }
        return false;
    }
    /* Reset cleared every BAR: start placing them afresh. */
    qme_machine_init(qt);
    return qme_qtest_ok(qt);
}

static char *qme_qom_find(QmeQTest *qt, const char *root,
                          const char *type_name, int depth)
{
    g_autofree char *q = qme_json_quote(root);
    g_autofree char *r = NULL;
    int i;

    if (depth > 16) {
        return NULL;
    }
    r = qme_qtest_qmp(qt, "{\"execute\": \"qom-list\", "
                      "\"arguments\": {\"path\": %s}}", q);
    if (!r || !qme_qmp_is_return(r)) {
        return NULL;
    }
    for (i = 0; ; i++) {
        g_autofree char *np = g_strdup_printf("return.%d.name", i);
        g_autofree char *tp = g_strdup_printf("return.%d.type", i);
        g_autofree char *name = qme_json_get(r, np);
        g_autofree char *type = qme_json_get(r, tp);
        g_autofree char *path = NULL;
        char *found;
        size_t tl;

        if (!name || !type) {
            break;
        }
        if (!g_str_has_prefix(type, "child<")) {
            continue;
        }
        tl = strlen(type);
        path = g_strdup_printf("%s%s%s", root,
                               g_str_has_suffix(root, "/") ? "" : "/", name);
        if (tl - 7 == strlen(type_name) &&
            !strncmp(type + 6, type_name, tl - 7)) {
            return g_steal_pointer(&path);
        }
        found = qme_qom_find(qt, path, type_name, depth + 1);
        if (found) {
            return found;
        }
    }
    return NULL;
}

char *qme_qtest_qom_find_type(QmeQTest *qt, const char *root,
                              const char *type_name)
{
    if (!qt || qt->broken) {
        return NULL;
    }
    return qme_qom_find(qt, root, type_name, 0);
}

/*
 * Startup
 */

static QmeQTest *qme_qtest_new(void)
{
    QmeQTest *qt = g_new0(QmeQTest, 1);

    qt->pid = -1;
    qt->qtest_fd = -1;
    qt->qmp_fd = -1;
    qt->out_fd = -1;
    qt->out_buf = g_string_new(NULL);
    qt->qtest_rx = g_string_new(NULL);
    qt->qmp_rx = g_string_new(NULL);
    g_queue_init(&qt->events);
    qt->timeout_ms = qme_default_timeout_ms();
    qt->log = g_getenv("QME_QTEST_LOG") != NULL;
    qt->machine = qme_machine();
    qt->mmio32_next = qt->machine->mmio32_base;
    qt->mmio64_next = qt->machine->mmio64_base;
    qt->io_next = qt->machine->io_base;
    return qt;
}

static bool qme_qmp_handshake(QmeQTest *qt)
{
    gint64 deadline = g_get_monotonic_time() + qt->timeout_ms * 1000LL;
    g_autofree char *greeting = qme_qmp_recv(qt, "(QMP greeting)", deadline,
                                             false);
    g_autofree char *r = NULL;

    if (!greeting) {
        return false;
    }
    if (!qme_json_has(greeting, "QMP")) {
        qme_fail(qt, "unexpected QMP greeting: %s", greeting);
        return false;
    }
    r = qme_qtest_qmp(qt, "{\"execute\": \"qmp_capabilities\"}");
    if (!r || !qme_qmp_is_return(r)) {
        if (r) {
            qme_fail(qt, "qmp_capabilities failed: %s", r);
        }
        return false;
    }
    return true;
}

QmeQTest *qme_qtest_startv(const char *args_fmt, va_list ap)
{
    const char *const base[] = {
        "-M", qme_machine()->name, "-accel", "qtest", "-display", "none",
        "-nodefaults",
        "-nic", "none", "-serial", "none", "-monitor", "none",
    };
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *args = g_strdup_vprintf(args_fmt ? args_fmt : "", ap);
    g_autofree char *qtest_name = NULL;
    g_autofree char *qmp_name = NULL;
    g_auto(GStrv) user = NULL;
    g_autoptr(GError) err = NULL;
    QmeQTest *qt = qme_qtest_new();
    int lfd_qtest = -1, lfd_qmp = -1, i;
    bool ok = false;

    if (*args && !g_shell_parse_argv(args, NULL, &user, &err)) {
        qme_fail(qt, "cannot parse QEMU arguments '%s': %s", args,
                 err->message);
        goto out;
    }
    qtest_name = g_strdup_printf("qme-qtest-%d-%p-%08x-qtest", (int)getpid(),
                                 (void *)qt, g_random_int());
    qmp_name = g_strdup_printf("qme-qtest-%d-%p-%08x-qmp", (int)getpid(),
                               (void *)qt, g_random_int());
    lfd_qtest = qme_listen_abstract(qtest_name);
    lfd_qmp = qme_listen_abstract(qmp_name);
    qt->out_fd = qme_open_capture();
    if (lfd_qtest < 0 || lfd_qmp < 0 || qt->out_fd < 0) {
        qme_fail(qt, "cannot create sockets or capture file: %s",
                 strerror(errno));
        goto out;
    }

    g_ptr_array_add(argv, g_strdup(qme_qemu_binary()));
    for (i = 0; i < G_N_ELEMENTS(base); i++) {
        g_ptr_array_add(argv, g_strdup(base[i]));
    }
    g_ptr_array_add(argv, g_strdup("-qtest"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s,abstract=on", qtest_name));
    /* QEMU logs every qtest line to stderr unless told otherwise. */
    g_ptr_array_add(argv, g_strdup("-qtest-log"));
    g_ptr_array_add(argv, g_strdup("none"));
    g_ptr_array_add(argv, g_strdup("-qmp"));
    g_ptr_array_add(argv, g_strdup_printf("unix:%s,abstract=on", qmp_name));
    for (i = 0; user && user[i]; i++) {
        g_ptr_array_add(argv, g_strdup(user[i]));
    }
    g_ptr_array_add(argv, NULL);

    qt->pid = qme_spawn((char **)argv->pdata, qt->out_fd);
    if (qt->pid < 0) {
        qme_fail(qt, "fork: %s", strerror(errno));
        goto out;
    }
    if (!qme_accept_both(qt, lfd_qtest, lfd_qmp, g_get_monotonic_time() +
                         qt->timeout_ms * 1000LL)) {
        goto out;
    }
    ok = qme_qmp_handshake(qt);
    if (ok) {
        qme_machine_init(qt);
        ok = qme_qtest_ok(qt);
    }

out:
    if (lfd_qtest >= 0) {
        close(lfd_qtest);
    }
    if (lfd_qmp >= 0) {
        close(lfd_qmp);
    }
    if (!ok) {
        if (qt->pid > 0) {
            qme_qtest_kill(qt, SIGKILL);
            qme_qtest_wait_exit(qt, QME_QUIT_GRACE_MS, NULL);
        }
        qme_qtest_free(qt);
        return NULL;
    }
    return qt;
}

QmeQTest *qme_qtest_start(const char *args_fmt, ...)
{
    va_list ap;
    QmeQTest *qt;

    va_start(ap, args_fmt);
    qt = qme_qtest_startv(args_fmt, ap);
    va_end(ap);
    return qt;
}

/*
 * Migration
 */

bool qme_qtest_migrate_to_file(QmeQTest *qt, const char *file,
                               int timeout_ms)
{
    g_autofree char *qfile = g_shell_quote(file);
    g_autofree char *uri = g_strdup_printf("exec:cat > %s", qfile);
    g_autofree char *quri = qme_json_quote(uri);
    g_autofree char *r = NULL;
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000LL;

    if (!qt || qt->broken) {
        return false;
    }
    r = qme_qtest_qmp_ok(qt, "{\"execute\": \"migrate\", "
                         "\"arguments\": {\"uri\": %s}}", quri);
    if (!r) {
        return false;
    }
    for (;;) {
        g_autofree char *q = qme_qtest_qmp_ok(qt, "{\"execute\": "
                                              "\"query-migrate\"}");
        g_autofree char *status = qme_json_get(q, "return.status");

        if (!q) {
            return false;
        }
        if (status && g_str_equal(status, "completed")) {
            return true;
        }
        if (status && (g_str_equal(status, "failed") ||
                       g_str_equal(status, "cancelled"))) {
            qme_fail(qt, "migration to %s %s: %s", file, status, q);
            return false;
        }
        if (!qme_remaining_ms(deadline)) {
            qme_fail(qt, "migration to %s not complete after %d ms: %s",
                     file, timeout_ms, q);
            return false;
        }
        g_usleep(5000);
    }
}

QmeQTest *qme_qtest_start_incoming(const char *file, const char *args_fmt,
                                   ...)
{
    g_autofree char *qfile = g_shell_quote(file);
    g_autofree char *uri = g_strdup_printf("exec:cat %s", qfile);
    g_autofree char *quri = g_shell_quote(uri);
    g_autofree char *user = NULL;
    gint64 deadline;
    QmeQTest *qt;
    va_list ap;

    va_start(ap, args_fmt);
    user = g_strdup_vprintf(args_fmt ? args_fmt : "", ap);
    va_end(ap);

    qt = qme_qtest_start("-incoming %s %s", quri, user);
    if (!qt) {
        return NULL;
    }
    deadline = g_get_monotonic_time() + qt->timeout_ms * 1000LL;
    for (;;) {
        g_autofree char *r = qme_qtest_qmp_ok(qt, "{\"execute\": "
                                              "\"query-status\"}");
        g_autofree char *status = qme_json_get(r, "return.status");

        if (!r) {
            break;
        }
        if (status && g_str_equal(status, "running")) {
            return qt;
        }
        if (status && !g_str_equal(status, "inmigrate") &&
            !g_str_equal(status, "prelaunch")) {
            qme_fail(qt, "incoming migration ended in state '%s'", status);
            break;
        }
        if (!qme_remaining_ms(deadline)) {
            qme_fail(qt, "incoming migration from %s not done after %d ms",
                     file, qt->timeout_ms);
            break;
        }
        g_usleep(5000);
    }
    /* The handle stays valid (and broken) so the caller can inspect it. */
    return qt;
}

/*
 * PCI
 */

static uint64_t qme_ecam_addr(QmeQTest *qt, uint8_t bus, uint8_t devfn,
                              uint16_t offset)
{
    return qt->machine->ecam_base + ((uint64_t)bus << 20) +
           ((uint64_t)devfn << 12) + (offset & 0xfff);
}

uint32_t qme_pci_cfg_read(QmeQTest *qt, uint8_t bus, uint8_t devfn,
                          uint16_t offset, unsigned size)
{
    uint64_t a = qme_ecam_addr(qt, bus, devfn, offset);

    switch (size) {
    case 1:
        return qme_qtest_readb(qt, a);
    case 2:
        return qme_qtest_readw(qt, a);
    case 4:
        return qme_qtest_readl(qt, a);
    }
    g_assert_not_reached();
}

void qme_pci_cfg_write(QmeQTest *qt, uint8_t bus, uint8_t devfn,
                       uint16_t offset, unsigned size, uint32_t val)
{
    uint64_t a = qme_ecam_addr(qt, bus, devfn, offset);

    switch (size) {
    case 1:
        qme_qtest_writeb(qt, a, val);
        return;
    case 2:
        qme_qtest_writew(qt, a, val);
        return;
    case 4:
        qme_qtest_writel(qt, a, val);
        return;
    }
    g_assert_not_reached();
}

uint8_t qme_pci_config_readb(QmePciDev *d, uint16_t offset)
{
    return qme_pci_cfg_read(d->qt, d->bus, d->devfn, offset, 1);
}

uint16_t qme_pci_config_readw(QmePciDev *d, uint16_t offset)
{
    return qme_pci_cfg_read(d->qt, d->bus, d->devfn, offset, 2);
}

uint32_t qme_pci_config_readl(QmePciDev *d, uint16_t offset)
{
    return qme_pci_cfg_read(d->qt, d->bus, d->devfn, offset, 4);
}

void qme_pci_config_writeb(QmePciDev *d, uint16_t offset, uint8_t val)
{
    qme_pci_cfg_write(d->qt, d->bus, d->devfn, offset, 1, val);
}

void qme_pci_config_writew(QmePciDev *d, uint16_t offset, uint16_t val)
{
    qme_pci_cfg_write(d->qt, d->bus, d->devfn, offset, 2, val);
}

void qme_pci_config_writel(QmePciDev *d, uint16_t offset, uint32_t val)
{
    qme_pci_cfg_write(d->qt, d->bus, d->devfn, offset, 4, val);
}

QmePciDev *qme_pci_find(QmeQTest *qt, uint16_t vendor_id, uint16_t device_id,
                        int index)
{
    int slot, fn;

    for (slot = 0; slot < 32 && qme_qtest_ok(qt); slot++) {
        int nfn = 1;

        for (fn = 0; fn < nfn; fn++) {
            uint8_t devfn = QME_PCI_DEVFN(slot, fn);
            uint32_t id = qme_pci_cfg_read(qt, 0, devfn, 0, 4);
            QmePciDev *d;

            if ((id & 0xffff) == 0xffff) {
                continue;
            }
            if (fn == 0 &&
                (qme_pci_cfg_read(qt, 0, devfn, PCI_HEADER_TYPE, 1) & 0x80)) {
                nfn = 8;
            }
            if ((id & 0xffff) != vendor_id || (id >> 16) != device_id ||
                index-- > 0) {
                continue;
            }
            d = g_new0(QmePciDev, 1);
            d->qt = qt;
            d->bus = 0;
            d->devfn = devfn;
            d->vendor_id = vendor_id;
            d->device_id = device_id;
            return d;
        }
    }
    return NULL;
}

bool qme_pci_bar_probe(QmePciDev *d, int bar)
{
    QmePciBar *b = &d->bar[bar];
    uint16_t off = PCI_BASE_ADDRESS_0 + 4 * bar;
    uint16_t cmd = qme_pci_config_readw(d, PCI_COMMAND);
    uint32_t orig, v;

    memset(b, 0, sizeof(*b));
    /* No decoding while the BAR holds the all-ones pattern. */
    qme_pci_config_writew(d, PCI_COMMAND,
                          cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    orig = qme_pci_config_readl(d, off);
    qme_pci_config_writel(d, off, 0xffffffff);
    v = qme_pci_config_readl(d, off);
    qme_pci_config_writel(d, off, orig);

    if (v && v != 0xffffffff) {
        b->present = true;
        if (v & 1) {
            uint32_t mask = v & ~3u;

            if (!(mask & 0xffff0000)) {
                mask |= 0xffff0000;     /* 16-bit I/O decoder */
            }
            b->io = true;
            b->size = (uint32_t)(~mask + 1);
        } else {
            uint64_t mask = v & ~0xfu;

            b->prefetch = v & 8;
            b->is64 = ((v >> 1) & 3) == 2;
            if (b->is64 && bar < 5) {
                uint32_t origh = qme_pci_config_readl(d, off + 4);
                uint32_t vh;

                qme_pci_config_writel(d, off + 4, 0xffffffff);
                vh = qme_pci_config_readl(d, off + 4);
                qme_pci_config_writel(d, off + 4, origh);
                mask |= (uint64_t)vh << 32;
                memset(&d->bar[bar + 1], 0, sizeof(d->bar[bar + 1]));
            } else {
                mask |= 0xffffffff00000000ULL;
            }
            b->size = ~mask + 1;
        }
    }
    qme_pci_config_writew(d, PCI_COMMAND, cmd);
    return b->present && qme_qtest_ok(d->qt);
}

static bool qme_pci_alloc(uint64_t *next, uint64_t end, uint64_t size,
                          uint64_t min_align, uint64_t *addr)
{
    uint64_t align = MAX(size, min_align);
    uint64_t a = (*next + align - 1) & ~(align - 1);

    if (a < *next || a + size - 1 > end || a + size - 1 < a) {
        return false;
    }
    *addr = a;
    *next = a + size;
    return true;
}

bool qme_pci_assign_bars(QmePciDev *d)
{
    QmeQTest *qt = d->qt;
    uint16_t cmd = qme_pci_config_readw(d, PCI_COMMAND);
    bool ok = true;
    int bar;

    for (bar = 0; bar < 6 && qme_qtest_ok(qt); bar++) {
        QmePciBar *b = &d->bar[bar];
        uint16_t off = PCI_BASE_ADDRESS_0 + 4 * bar;
        uint64_t addr, got;

        if (!qme_pci_bar_probe(d, bar)) {
            continue;
        }
        if (b->io) {
            ok = qme_pci_alloc(&qt->io_next, qt->machine->io_end,
                               b->size, 4, &addr);
        } else {
            ok = !(b->is64 && d->bar64_high) &&
                 qme_pci_alloc(&qt->mmio32_next, qt->machine->mmio32_end,
                               b->size, 0x1000, &addr);
            if (!ok && b->is64) {
                ok = qme_pci_alloc(&qt->mmio64_next,
                                   qt->machine->mmio64_end,
                                   b->size, 0x1000, &addr);
            }
        }
        if (!ok) {
            qme_fail(qt, "no room for BAR%d (size 0x%" PRIx64 ") of %02x.%x",
                     bar, b->size, QME_PCI_SLOT(d->devfn),
                     QME_PCI_FUNC(d->devfn));
            return false;
        }
        qme_pci_config_writel(d, off, (uint32_t)addr);
        got = qme_pci_config_readl(d, off) & (b->io ? ~3u : ~0xfu);
        if (b->is64) {
            qme_pci_config_writel(d, off + 4, addr >> 32);
            got |= (uint64_t)qme_pci_config_readl(d, off + 4) << 32;
        }
        if (got != addr) {
            qme_fail(qt, "BAR%d of %02x.%x reads 0x%" PRIx64 " after "
                     "writing 0x%" PRIx64, bar, QME_PCI_SLOT(d->devfn),
                     QME_PCI_FUNC(d->devfn), got, addr);
            return false;
        }
        b->addr = addr;
        cmd |= b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
        if (b->is64) {
            bar++;
        }
    }
    qme_pci_config_writew(d, PCI_COMMAND, cmd | PCI_COMMAND_MASTER);
    return qme_qtest_ok(qt);
}

uint64_t qme_pci_bar_cpu_addr(QmePciDev *d, int bar)
{
    QmePciBar *b = &d->bar[bar];

    g_assert(bar >= 0 && bar < 6);
    if (!b->present || !b->addr) {
        qme_fail(d->qt, "BAR%d of %02x.%x is not assigned", bar,
                 QME_PCI_SLOT(d->devfn), QME_PCI_FUNC(d->devfn));
        return 0;
    }
    return b->io ? d->qt->machine->pio_window + b->addr : b->addr;
}

/*
 * An I/O BAR on a machine without a PIO window (x86): port I/O, which
 * has no 64-bit access.  Returns false for every other BAR.
 */
static bool qme_pci_bar_port(QmePciDev *d, int bar, uint64_t off,
                             unsigned size, bool write, uint64_t *val)
{
    g_autofree char *r = NULL;
    static const char w[] = { [1] = 'b', [2] = 'w', [4] = 'l' };

    g_assert(bar >= 0 && bar < 6);
    if (!d->bar[bar].io || d->qt->machine->pio_window) {
        return false;
    }
    if (size > 4) {
        qme_fail(d->qt, "8-byte access to I/O BAR%d: x86 port I/O has none",
                 bar);
        *val = 0;
        return true;
    }
    if (write) {
        r = qme_qtest_cmd(d->qt, "out%c 0x%" PRIx64 " 0x%" PRIx64, w[size],
                          qme_pci_bar_cpu_addr(d, bar) + off, *val);
    } else {
        r = qme_qtest_cmd(d->qt, "in%c 0x%" PRIx64, w[size],
                          qme_pci_bar_cpu_addr(d, bar) + off);
        *val = r ? g_ascii_strtoull(r, NULL, 0) : 0;
    }
    return true;
}

uint8_t qme_pci_bar_readb(QmePciDev *d, int bar, uint64_t off)
{
    uint64_t v;

    if (qme_pci_bar_port(d, bar, off, 1, false, &v)) {
        return v;
    }
    return qme_qtest_readb(d->qt, qme_pci_bar_cpu_addr(d, bar) + off);
}

uint16_t qme_pci_bar_readw(QmePciDev *d, int bar, uint64_t off)
{
    uint64_t v;

    if (qme_pci_bar_port(d, bar, off, 2, false, &v)) {
        return v;
    }
    return qme_qtest_readw(d->qt, qme_pci_bar_cpu_addr(d, bar) + off);
}

uint32_t qme_pci_bar_readl(QmePciDev *d, int bar, uint64_t off)
{
    uint64_t v;

    if (qme_pci_bar_port(d, bar, off, 4, false, &v)) {
        return v;
    }
    return qme_qtest_readl(d->qt, qme_pci_bar_cpu_addr(d, bar) + off);
}

uint64_t qme_pci_bar_readq(QmePciDev *d, int bar, uint64_t off)
{
    uint64_t v;

    if (qme_pci_bar_port(d, bar, off, 8, false, &v)) {
        return v;
    }
    return qme_qtest_readq(d->qt, qme_pci_bar_cpu_addr(d, bar) + off);
}

void qme_pci_bar_writeb(QmePciDev *d, int bar, uint64_t off, uint8_t val)
{
    uint64_t v = val;

    if (!qme_pci_bar_port(d, bar, off, 1, true, &v)) {
        qme_qtest_writeb(d->qt, qme_pci_bar_cpu_addr(d, bar) + off, val);
    }
}

void qme_pci_bar_writew(QmePciDev *d, int bar, uint64_t off, uint16_t val)
{
    uint64_t v = val;

    if (!qme_pci_bar_port(d, bar, off, 2, true, &v)) {
        qme_qtest_writew(d->qt, qme_pci_bar_cpu_addr(d, bar) + off, val);
    }
}

void qme_pci_bar_writel(QmePciDev *d, int bar, uint64_t off, uint32_t val)
{
    uint64_t v = val;

    if (!qme_pci_bar_port(d, bar, off, 4, true, &v)) {
        qme_qtest_writel(d->qt, qme_pci_bar_cpu_addr(d, bar) + off, val);
    }
}

void qme_pci_bar_writeq(QmePciDev *d, int bar, uint64_t off, uint64_t val)
{
    uint64_t v = val;

    if (!qme_pci_bar_port(d, bar, off, 8, true, &v)) {
        qme_qtest_writeq(d->qt, qme_pci_bar_cpu_addr(d, bar) + off, val);
    }
}

uint8_t qme_pci_find_cap(QmePciDev *d, uint8_t cap_id)
{
    uint8_t ptr;
    int guard;

    if (!(qme_pci_config_readw(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    ptr = qme_pci_config_readb(d, PCI_CAPABILITY_LIST) & ~3;
    for (guard = 0; ptr >= 0x40 && guard < 48; guard++) {
        if (qme_pci_config_readb(d, ptr) == cap_id) {
            return ptr;
        }
        ptr = qme_pci_config_readb(d, ptr + 1) & ~3;
    }
    return 0;
}

uint16_t qme_pci_find_ext_cap(QmePciDev *d, uint16_t cap_id)
{
    uint16_t off = 0x100;
    int guard;

    for (guard = 0; off >= 0x100 && guard < 64; guard++) {
        uint32_t hdr = qme_pci_config_readl(d, off);

        if (hdr == 0 || hdr == 0xffffffff) {
            return 0;
        }
        if ((hdr & 0xffff) == cap_id) {
            return off;
        }
        off = (hdr >> 20) & 0xffc;
    }
    return 0;
}

void qme_pci_fixture_start(QmePciFixture *f, uint16_t vendor_id,
                           uint16_t device_id, const char *args_fmt, ...)
{
    va_list ap;

    va_start(ap, args_fmt);
    f->qt = qme_qtest_startv(args_fmt, ap);
    va_end(ap);
    f->dev = f->qt ? qme_pci_find(f->qt, vendor_id, device_id, 0) : NULL;
}

bool qme_pci_fixture_ready(QmePciFixture *f, bool bars)
{
    g_assert_nonnull(f->qt);
    g_assert_nonnull(f->dev);
    if (!f->qt || !f->dev) {
        return false;
    }
    if (bars) {
        g_assert_true(qme_pci_assign_bars(f->dev));
    }
    return qme_qtest_ok(f->qt);
}

void qme_pci_fixture_stop(QmePciFixture *f, gconstpointer data)
{
    g_free(f->dev);
    qme_qtest_quit(f->qt);
}

bool qme_pci_msi_enable(QmePciDev *d, uint64_t addr, uint16_t data)
{
    uint8_t cap = qme_pci_find_cap(d, PCI_CAP_ID_MSI);
    uint16_t ctrl;
    bool is64;

    if (!cap) {
        return false;
    }
    ctrl = qme_pci_config_readw(d, cap + 2);
    is64 = ctrl & 0x80;
    if (!is64 && (addr >> 32)) {
        qme_fail(d->qt, "MSI of %02x.%x is 32-bit only; address 0x%" PRIx64,
                 QME_PCI_SLOT(d->devfn), QME_PCI_FUNC(d->devfn), addr);
        return false;
    }
    qme_pci_config_writel(d, cap + 4, (uint32_t)addr);
    if (is64) {
        qme_pci_config_writel(d, cap + 8, addr >> 32);
        qme_pci_config_writew(d, cap + 12, data);
    } else {
        qme_pci_config_writew(d, cap + 8, data);
    }
    if (ctrl & 0x100) {
        /* Per-vector masking: unmask vector 0. */
        qme_pci_config_writel(d, cap + (is64 ? 16 : 12), 0);
    }
    ctrl &= ~0x70;              /* one vector */
    qme_pci_config_writew(d, cap + 2, ctrl | 1);
    qme_pci_config_writew(d, PCI_COMMAND, qme_pci_config_readw(d, PCI_COMMAND)
                          | PCI_COMMAND_MASTER);
    return qme_qtest_ok(d->qt);
}

void qme_pci_msi_disable(QmePciDev *d)
{
    uint8_t cap = qme_pci_find_cap(d, PCI_CAP_ID_MSI);

    if (cap) {
        qme_pci_config_writew(d, cap + 2,
                              qme_pci_config_readw(d, cap + 2) & ~1);
    }
}

bool qme_pci_msix_enable(QmePciDev *d, unsigned vector, uint64_t addr,
                         uint32_t data)
{
    uint8_t cap = qme_pci_find_cap(d, PCI_CAP_ID_MSIX);
    uint16_t ctrl;
    uint32_t table;
    uint64_t entry;
    int bir;

    if (!cap) {
        return false;
    }
    ctrl = qme_pci_config_readw(d, cap + 2);
    if (vector > (ctrl & 0x7ffu)) {
        qme_fail(d->qt, "MSI-X vector %u out of range (table size %u)",
                 vector, (ctrl & 0x7ffu) + 1);
        return false;
    }
    table = qme_pci_config_readl(d, cap + 4);
    bir = table & 7;
    if (bir > 5) {
        qme_fail(d->qt, "MSI-X table in invalid BAR %d", bir);
        return false;
    }
    /* Enable with the function masked, program the entry, unmask. */
    qme_pci_config_writew(d, cap + 2, (ctrl | 0x8000 | 0x4000));
    qme_pci_config_writew(d, PCI_COMMAND, qme_pci_config_readw(d, PCI_COMMAND)
                          | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    entry = qme_pci_bar_cpu_addr(d, bir) + (table & ~7u) + 16ULL * vector;
    if (!qme_qtest_ok(d->qt)) {
        return false;
    }
    qme_qtest_writel(d->qt, entry, (uint32_t)addr);
    qme_qtest_writel(d->qt, entry + 4, addr >> 32);
    qme_qtest_writel(d->qt, entry + 8, data);
    qme_qtest_writel(d->qt, entry + 12, 0);
    qme_pci_config_writew(d, cap + 2, (ctrl | 0x8000) & ~0x4000);
    return qme_qtest_ok(d->qt);
}

void qme_pci_msix_disable(QmePciDev *d)
{
    uint8_t cap = qme_pci_find_cap(d, PCI_CAP_ID_MSIX);

    if (cap) {
        qme_pci_config_writew(d, cap + 2,
                              qme_pci_config_readw(d, cap + 2) & ~0x8000);
    }
}
