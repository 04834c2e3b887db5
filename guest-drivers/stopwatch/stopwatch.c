// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest driver for the qemu-modules-extra "stopwatch" para-virtual device
 * (compatible "qme,stopwatch" on the aarch64 virt machine).
 *
 * The device tree gives two memory regions and one interrupt:
 *  "regs": trapping registers (commands, state, exact time, alarm);
 *  "shm":  a page of RAM the host keeps up to date with the elapsed time,
 *          read here without any exit to the host;
 *  the alarm interrupt.
 * Offsets and bits come from stopwatch-regs.h, generated from the same
 * register table as the QEMU model.
 *
 * User interface:
 *  /sys/module/stopwatch/parameters/stopwatch_status
 *      read: "running" or "stopped"; write: start, stop or reset
 *  /sys/kernel/debug/stopwatch/stopwatch       elapsed ns (pass-through)
 *  /sys/kernel/debug/stopwatch/snapshot        "running|stopped NS" (page)
 *  /sys/kernel/debug/stopwatch/elapsed_mmio    elapsed ns (trapped read)
 *  /sys/kernel/debug/stopwatch/alarm           alarm in ns, 0 = off (rw)
 *  /sys/kernel/debug/stopwatch/alarm_count     alarm interrupts handled
 *  /sys/kernel/debug/stopwatch/bench           cost of both reads
 */

#include <linux/debugfs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>

#include "stopwatch-regs.h"

#define DRV_NAME "stopwatch"

struct stopwatch {
	struct device *dev;
	void __iomem *regs;
	void __iomem *shm;
	struct dentry *debugfs;
	atomic_t alarm_count;
};

/* The parameter file is global, so one device is driven at a time. */
static DEFINE_MUTEX(stopwatch_lock);
static struct stopwatch *stopwatch_dev;

static unsigned int bench_loops = 100000;
module_param(bench_loops, uint, 0644);
MODULE_PARM_DESC(bench_loops, "Reads per method in debugfs bench");

/*
 * The host stores the elapsed time with one aligned 64-bit store and an
 * aligned 64-bit load is single-copy atomic on arm64: the value is always
 * whole, with no generation check, so the hot path is one load.
 */
static u64 stopwatch_read_shm(struct stopwatch *sw)
{
	return readq_relaxed(sw->shm + STOPWATCH_SHM_ELAPSED);
}

/*
 * Several fields at once need the generation: retry while it is odd
 * (update in progress) or changed under us.
 */
static void stopwatch_snapshot(struct stopwatch *sw, u64 *ns, u32 *flags)
{
	u32 seq;

	do {
		seq = readl_relaxed(sw->shm + STOPWATCH_SHM_SEQ);
		smp_rmb();	/* generation before the fields it covers */
		*ns = readq_relaxed(sw->shm + STOPWATCH_SHM_ELAPSED);
		*flags = readl_relaxed(sw->shm + STOPWATCH_SHM_FLAGS);
		smp_rmb();	/* fields before the generation re-check */
	} while ((seq & 1) ||
		 seq != readl_relaxed(sw->shm + STOPWATCH_SHM_SEQ));
}

static u64 stopwatch_read_mmio(struct stopwatch *sw)
{
	return readq(sw->regs + STOPWATCH_REG_ELAPSED);
}

static int stopwatch_status_set(const char *val, const struct kernel_param *kp)
{
	u32 cmd;
	int ret = 0;

	if (sysfs_streq(val, "start"))
		cmd = STOPWATCH_CTRL_START_MASK;
	else if (sysfs_streq(val, "stop"))
		cmd = STOPWATCH_CTRL_STOP_MASK;
	else if (sysfs_streq(val, "reset"))
		cmd = STOPWATCH_CTRL_RESET_MASK;
	else
		return -EINVAL;

	mutex_lock(&stopwatch_lock);
	if (stopwatch_dev)
		writel(cmd, stopwatch_dev->regs + STOPWATCH_REG_CTRL);
	else
		ret = -ENODEV;
	mutex_unlock(&stopwatch_lock);
	return ret;
}

static int stopwatch_status_get(char *buffer, const struct kernel_param *kp)
{
	int ret;

	mutex_lock(&stopwatch_lock);
	if (!stopwatch_dev)
		ret = sysfs_emit(buffer, "absent\n");
	else if (readl(stopwatch_dev->regs + STOPWATCH_REG_STATUS) &
		 STOPWATCH_STATUS_RUNNING_MASK)
		ret = sysfs_emit(buffer, "running\n");
	else
		ret = sysfs_emit(buffer, "stopped\n");
	mutex_unlock(&stopwatch_lock);
	return ret;
}

static const struct kernel_param_ops stopwatch_status_ops = {
	.set = stopwatch_status_set,
	.get = stopwatch_status_get,
};
module_param_cb(stopwatch_status, &stopwatch_status_ops, NULL, 0644);
MODULE_PARM_DESC(stopwatch_status,
		 "State (running/stopped); write start, stop or reset");

static int stopwatch_elapsed_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%llu\n", stopwatch_read_shm(m->private));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stopwatch_elapsed);

static int stopwatch_snapshot_show(struct seq_file *m, void *v)
{
	u32 flags;
	u64 ns;

	stopwatch_snapshot(m->private, &ns, &flags);
	seq_printf(m, "%s %llu\n",
		   flags & STOPWATCH_STATUS_RUNNING_MASK ? "running" : "stopped",
		   ns);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stopwatch_snapshot);

static int stopwatch_elapsed_mmio_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%llu\n", stopwatch_read_mmio(m->private));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stopwatch_elapsed_mmio);

static int stopwatch_alarm_get(void *data, u64 *val)
{
	struct stopwatch *sw = data;

	*val = readq(sw->regs + STOPWATCH_REG_ALARM);
	return 0;
}

/* A new alarm forgets a pending one; 0 turns the interrupt off. */
static int stopwatch_alarm_set(void *data, u64 val)
{
	struct stopwatch *sw = data;

	writel(0, sw->regs + STOPWATCH_REG_INT_ENABLE);
	writel(STOPWATCH_INT_STATUS_ALARM_MASK,
	       sw->regs + STOPWATCH_REG_INT_STATUS);
	writeq(val, sw->regs + STOPWATCH_REG_ALARM);
	if (val)
		writel(STOPWATCH_INT_ENABLE_ALARM_MASK,
		       sw->regs + STOPWATCH_REG_INT_ENABLE);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(stopwatch_alarm_fops, stopwatch_alarm_get,
			 stopwatch_alarm_set, "%llu\n");

static int stopwatch_alarm_count_get(void *data, u64 *val)
{
	struct stopwatch *sw = data;

	*val = atomic_read(&sw->alarm_count);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(stopwatch_alarm_count_fops,
			 stopwatch_alarm_count_get, NULL, "%llu\n");

/*
 * Both methods read the same value in the same run; the guest clock
 * follows the host's, so the figures are host time per read.
 */
static int stopwatch_bench_show(struct seq_file *m, void *v)
{
	struct stopwatch *sw = m->private;
	unsigned int i, loops = max(READ_ONCE(bench_loops), 1U);
	u64 t0, t_shm, t_mmio, t_snap, ns, sink = 0;
	u32 flags;

	t0 = ktime_get_ns();
	for (i = 0; i < loops; i++)
		sink += stopwatch_read_shm(sw);
	t_shm = ktime_get_ns() - t0;

	t0 = ktime_get_ns();
	for (i = 0; i < loops; i++)
		sink += stopwatch_read_mmio(sw);
	t_mmio = ktime_get_ns() - t0;

	t0 = ktime_get_ns();
	for (i = 0; i < loops; i++) {
		stopwatch_snapshot(sw, &ns, &flags);
		sink += ns + flags;
	}
	t_snap = ktime_get_ns() - t0;

	seq_printf(m, "loops %u shm_ns %llu mmio_ns %llu snapshot_ns %llu sink %llu\n",
		   loops, t_shm, t_mmio, t_snap, sink & 1);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stopwatch_bench);

static irqreturn_t stopwatch_irq(int irq, void *data)
{
	struct stopwatch *sw = data;
	u32 pending = readl(sw->regs + STOPWATCH_REG_INT_STATUS);

	if (!(pending & STOPWATCH_INT_STATUS_ALARM_MASK))
		return IRQ_NONE;
	writel(pending, sw->regs + STOPWATCH_REG_INT_STATUS);
	atomic_inc(&sw->alarm_count);
	return IRQ_HANDLED;
}

/*
 * Undoes the probe on unbind, as a devres action rather than a .remove
 * callback: that callback returns int up to Linux 6.10 and void from 6.11.
 * Registered after the IRQ, it runs before the IRQ is freed.
 */
static void stopwatch_release(void *data)
{
	struct stopwatch *sw = data;

	debugfs_remove_recursive(sw->debugfs);
	writel(0, sw->regs + STOPWATCH_REG_INT_ENABLE);
	mutex_lock(&stopwatch_lock);
	stopwatch_dev = NULL;
	mutex_unlock(&stopwatch_lock);
}

static int stopwatch_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct stopwatch *sw;
	u32 id;
	int irq, ret;

	sw = devm_kzalloc(dev, sizeof(*sw), GFP_KERNEL);
	if (!sw)
		return -ENOMEM;
	sw->dev = dev;

	sw->regs = devm_platform_ioremap_resource_byname(pdev, "regs");
	if (IS_ERR(sw->regs))
		return PTR_ERR(sw->regs);
	sw->shm = devm_platform_ioremap_resource_byname(pdev, "shm");
	if (IS_ERR(sw->shm))
		return PTR_ERR(sw->shm);
	irq = platform_get_irq(pdev, 0);
	if (irq < 0)
		return irq;

	id = readl(sw->regs + STOPWATCH_REG_ID);
	if (id != STOPWATCH_MAGIC)
		return dev_err_probe(dev, -ENODEV, "bad ID 0x%08x\n", id);

	/* Quiet the line before the handler can see it. */
	writel(0, sw->regs + STOPWATCH_REG_INT_ENABLE);
	writel(STOPWATCH_INT_STATUS_ALARM_MASK,
	       sw->regs + STOPWATCH_REG_INT_STATUS);
	ret = devm_request_irq(dev, irq, stopwatch_irq, 0, DRV_NAME, sw);
	if (ret)
		return dev_err_probe(dev, ret, "cannot get IRQ %d\n", irq);

	mutex_lock(&stopwatch_lock);
	if (stopwatch_dev) {
		mutex_unlock(&stopwatch_lock);
		return dev_err_probe(dev, -EBUSY, "only one stopwatch is driven\n");
	}
	stopwatch_dev = sw;
	mutex_unlock(&stopwatch_lock);

	sw->debugfs = debugfs_create_dir(DRV_NAME, NULL);
	debugfs_create_file("stopwatch", 0444, sw->debugfs, sw,
			    &stopwatch_elapsed_fops);
	debugfs_create_file("snapshot", 0444, sw->debugfs, sw,
			    &stopwatch_snapshot_fops);
	debugfs_create_file("elapsed_mmio", 0444, sw->debugfs, sw,
			    &stopwatch_elapsed_mmio_fops);
	debugfs_create_file_unsafe("alarm", 0644, sw->debugfs, sw,
				   &stopwatch_alarm_fops);
	debugfs_create_file_unsafe("alarm_count", 0444, sw->debugfs, sw,
				   &stopwatch_alarm_count_fops);
	debugfs_create_file("bench", 0444, sw->debugfs, sw,
			    &stopwatch_bench_fops);
	ret = devm_add_action_or_reset(dev, stopwatch_release, sw);
	if (ret)
		return ret;
	platform_set_drvdata(pdev, sw);

	dev_info(dev, "version 0x%08x, update period %llu ns, IRQ %d\n",
		 readl(sw->regs + STOPWATCH_REG_VERSION),
		 readq(sw->regs + STOPWATCH_REG_PERIOD), irq);
	return 0;
}

static const struct of_device_id stopwatch_of_match[] = {
	{ .compatible = "qme,stopwatch" },
	{ }
};
MODULE_DEVICE_TABLE(of, stopwatch_of_match);

static struct platform_driver stopwatch_driver = {
	.probe = stopwatch_probe,
	.driver = {
		.name = DRV_NAME,
		.of_match_table = stopwatch_of_match,
	},
};
module_platform_driver(stopwatch_driver);

MODULE_DESCRIPTION("Para-virtual stopwatch (qemu-modules-extra)");
MODULE_LICENSE("GPL");
