// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest driver for the mypci family of QEMU devices (mypci_minimal,
 * mypci_configurable): 1af4:1234, one 32-bit register in BAR0.
 * mypci_configurable (subsystem 1af4:1101) adds an interrupt (MSI, else
 * INTx), a RAM BAR and a DMA engine, which the driver uses too.
 *
 * The register's offset, width and the IDs come from the header that the
 * build generates from devices/mypci_minimal/mypci_minimal.regs.toml, the
 * same table the QEMU model is built from.
 *
 * The register is exposed as the sysfs attribute "value" of the PCI device
 * (/sys/bus/pci/devices/<slot>/value), in hex: reading it reads the
 * register, writing a number writes it.
 *
 * On mypci_configurable, more attributes (offsets and bits from
 * mypci_configurable-regs.h):
 *   irq_mode      "msi" or "intx": what the interrupt came up as
 *   irq_count     interrupts handled so far
 *   doorbell      write a number: rings the doorbell, waits for the interrupt
 *   dma_selftest  write a length: DMA a pattern from RAM to BAR2, check it
 *                 through the BAR2 mapping, DMA it back into another buffer
 *                 and compare; the write fails with EIO on any mismatch
 *   dma_status    DMA_STATUS after the last transfer, in hex
 *
 * Layout follows drivers/misc/pci_endpoint_test.c: per-variant data in the
 * ID table, every memory BAR mapped in probe, unwinding in reverse order,
 * so interrupts, a second BAR and DMA slot in as new fields and steps.
 */

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sysfs.h>

#include "mypci_minimal-regs.h"
#include "mypci_configurable-regs.h"

/* PCI_IRQ_INTX is Linux 6.8's name for PCI_IRQ_LEGACY (gone in 6.10). */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

#define DRV_NAME "mypci"
#define MYPCI_TIMEOUT (HZ / 2)

/* What differs between the devices this driver binds to. */
struct mypci_data {
	int reg_bar;			/* BAR holding the register block */
	resource_size_t regs_span;	/* minimum size of that BAR */
	bool engine;			/* interrupt, RAM BAR, DMA engine */
};

struct mypci {
	struct pci_dev *pdev;
	const struct mypci_data *data;
	void __iomem *bar[PCI_STD_NUM_BARS];
	void __iomem *regs;		/* == bar[data->reg_bar] */
	struct mutex lock;		/* serialises register access */
	/* mypci_configurable only */
	void __iomem *ram;		/* == bar[MYCFG_RAM_BAR] */
	resource_size_t ram_size;
	int irq;
	atomic_t irq_count;
	struct completion doorbell;
	struct completion dma_done;
	u32 dma_status;			/* DMA_STATUS read by the handler */
};

static const struct mypci_data mypci_minimal_data = {
	.reg_bar = 0,
	.regs_span = MYPCI_REGS_SPAN,
};

/* VALUE sits at the same offset, so the "value" code serves both. */
static const struct mypci_data mypci_configurable_data = {
	.reg_bar = MYCFG_REG_BAR,
	.regs_span = MYCFG_REGS_SPAN,
	.engine = true,
};

static u64 mypci_readreg(struct mypci *mp, unsigned int offset,
			 unsigned int size)
{
	switch (size) {
	case 1:
		return ioread8(mp->regs + offset);
	case 2:
		return ioread16(mp->regs + offset);
	default:
		return ioread32(mp->regs + offset);
	}
}

static void mypci_writereg(struct mypci *mp, unsigned int offset,
			   unsigned int size, u64 val)
{
	switch (size) {
	case 1:
		iowrite8(val, mp->regs + offset);
		break;
	case 2:
		iowrite16(val, mp->regs + offset);
		break;
	default:
		iowrite32(val, mp->regs + offset);
		break;
	}
}

static ssize_t value_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct mypci *mp = dev_get_drvdata(dev);
	u64 val;

	mutex_lock(&mp->lock);
	val = mypci_readreg(mp, MYPCI_REG_VALUE, MYPCI_REG_VALUE_SIZE);
	mutex_unlock(&mp->lock);

	return sysfs_emit(buf, "0x%0*llx\n", MYPCI_REG_VALUE_SIZE * 2, val);
}

static ssize_t value_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct mypci *mp = dev_get_drvdata(dev);
	u64 val;
	int ret;

	ret = kstrtou64(buf, 16, &val);
	if (ret)
		return ret;
	if (MYPCI_REG_VALUE_SIZE < 8 &&
	    val >> (MYPCI_REG_VALUE_SIZE * 8))
		return -ERANGE;

	mutex_lock(&mp->lock);
	mypci_writereg(mp, MYPCI_REG_VALUE, MYPCI_REG_VALUE_SIZE, val);
	mutex_unlock(&mp->lock);

	return count;
}
static DEVICE_ATTR_RW(value);

static irqreturn_t mypci_irq(int irq, void *data)
{
	struct mypci *mp = data;
	u32 status = ioread32(mp->regs + MYCFG_REG_IRQ_STATUS);

	/* INTx may be shared; all ones: the device is gone. */
	if (!status || status == ~0U)
		return IRQ_NONE;
	iowrite32(status, mp->regs + MYCFG_REG_IRQ_STATUS);
	atomic_inc(&mp->irq_count);
	if (status & MYCFG_IRQ_STATUS_DOORBELL_MASK)
		complete(&mp->doorbell);
	if (status & (MYCFG_IRQ_STATUS_DMA_DONE_MASK |
		      MYCFG_IRQ_STATUS_DMA_ERROR_MASK)) {
		mp->dma_status = ioread32(mp->regs + MYCFG_REG_DMA_STATUS);
		complete(&mp->dma_done);
	}
	return IRQ_HANDLED;
}

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct pci_dev *pdev = to_pci_dev(dev);

	return sysfs_emit(buf, "%s\n", pdev->msi_enabled ? "msi" : "intx");
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t irq_count_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct mypci *mp = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&mp->irq_count));
}
static DEVICE_ATTR_RO(irq_count);

static ssize_t doorbell_store(struct device *dev,
			      struct device_attribute *attr, const char *buf,
			      size_t count)
{
	struct mypci *mp = dev_get_drvdata(dev);
	u32 val;
	int ret;

	ret = kstrtou32(buf, 0, &val);
	if (ret)
		return ret;

	mutex_lock(&mp->lock);
	reinit_completion(&mp->doorbell);
	iowrite32(val, mp->regs + MYCFG_REG_DOORBELL);
	if (!wait_for_completion_timeout(&mp->doorbell, MYPCI_TIMEOUT))
		ret = -ETIMEDOUT;
	mutex_unlock(&mp->lock);

	return ret ? ret : count;
}
static DEVICE_ATTR_WO(doorbell);

/* Called with mp->lock held. */
static int mypci_dma(struct mypci *mp, bool to_ram, u64 src, u64 dst, u32 len)
{
	reinit_completion(&mp->dma_done);
	lo_hi_writeq(src, mp->regs + MYCFG_REG_DMA_SRC);
	lo_hi_writeq(dst, mp->regs + MYCFG_REG_DMA_DST);
	iowrite32(len, mp->regs + MYCFG_REG_DMA_LEN);
	iowrite32(MYCFG_DMA_CMD_START_MASK |
		  QME_FIELD_PREP(MYCFG_DMA_CMD, DIR, to_ram),
		  mp->regs + MYCFG_REG_DMA_CMD);
	if (!wait_for_completion_timeout(&mp->dma_done, MYPCI_TIMEOUT))
		return -ETIMEDOUT;
	return mp->dma_status == MYCFG_DMA_STATUS_DONE_MASK ? 0 : -EIO;
}

static ssize_t dma_selftest_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	struct mypci *mp = dev_get_drvdata(dev);
	dma_addr_t src_dma, dst_dma;
	u8 *src, *dst, *check;
	u32 len, i;
	int ret;

	ret = kstrtou32(buf, 0, &len);
	if (ret)
		return ret;
	if (!len || len > mp->ram_size)
		return -EINVAL;

	check = kmalloc(len, GFP_KERNEL);
	src = dma_alloc_coherent(dev, len, &src_dma, GFP_KERNEL);
	dst = dma_alloc_coherent(dev, len, &dst_dma, GFP_KERNEL);
	if (!check || !src || !dst) {
		ret = -ENOMEM;
		goto out;
	}
	/* The pattern guest tests read back through /dev/mem. */
	for (i = 0; i < len; i++)
		src[i] = i * 7 + 1;

	mutex_lock(&mp->lock);
	ret = mypci_dma(mp, false, src_dma, 0, len);
	if (!ret) {
		memcpy_fromio(check, mp->ram, len);
		if (memcmp(check, src, len)) {
			dev_err(dev, "BAR%d does not hold what DMA wrote\n",
				MYCFG_RAM_BAR);
			ret = -EIO;
		}
	}
	if (!ret)
		ret = mypci_dma(mp, true, 0, dst_dma, len);
	if (!ret && memcmp(dst, src, len)) {
		dev_err(dev, "DMA from BAR%d returned other bytes\n",
			MYCFG_RAM_BAR);
		ret = -EIO;
	}
	if (ret)
		dev_err(dev, "DMA selftest of %u bytes failed: %d, DMA_STATUS %#x\n",
			len, ret, mp->dma_status);
	mutex_unlock(&mp->lock);

out:
	if (dst)
		dma_free_coherent(dev, len, dst, dst_dma);
	if (src)
		dma_free_coherent(dev, len, src, src_dma);
	kfree(check);
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(dma_selftest);

static ssize_t dma_status_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mypci *mp = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%#x\n", mp->dma_status);
}
static DEVICE_ATTR_RO(dma_status);

static struct attribute *mypci_attrs[] = {
	&dev_attr_value.attr,
	NULL,
};

static struct attribute *mypci_engine_attrs[] = {
	&dev_attr_irq_mode.attr,
	&dev_attr_irq_count.attr,
	&dev_attr_doorbell.attr,
	&dev_attr_dma_selftest.attr,
	&dev_attr_dma_status.attr,
	NULL,
};

static umode_t mypci_engine_visible(struct kobject *kobj,
				    struct attribute *attr, int n)
{
	struct mypci *mp = dev_get_drvdata(kobj_to_dev(kobj));

	return mp && mp->data->engine ? attr->mode : 0;
}

static const struct attribute_group mypci_group = {
	.attrs = mypci_attrs,
};

static const struct attribute_group mypci_engine_group = {
	.attrs = mypci_engine_attrs,
	.is_visible = mypci_engine_visible,
};

static const struct attribute_group *mypci_groups[] = {
	&mypci_group,
	&mypci_engine_group,
	NULL,
};

/* Interrupt, bus mastering and the RAM BAR of mypci_configurable. */
static int mypci_engine_init(struct mypci *mp)
{
	struct pci_dev *pdev = mp->pdev;
	struct device *dev = &pdev->dev;
	int ret;

	mp->ram = mp->bar[MYCFG_RAM_BAR];
	mp->ram_size = pci_resource_len(pdev, MYCFG_RAM_BAR);
	if (!mp->ram) {
		dev_err(dev, "BAR%d (RAM) missing\n", MYCFG_RAM_BAR);
		return -ENODEV;
	}
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	atomic_set(&mp->irq_count, 0);
	init_completion(&mp->doorbell);
	init_completion(&mp->dma_done);

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_INTX);
	if (ret < 0) {
		dev_err(dev, "no interrupt: %d\n", ret);
		return ret;
	}
	mp->irq = pci_irq_vector(pdev, 0);
	ret = request_irq(mp->irq, mypci_irq, IRQF_SHARED, DRV_NAME, mp);
	if (ret) {
		dev_err(dev, "cannot request IRQ %d: %d\n", mp->irq, ret);
		pci_free_irq_vectors(pdev);
		return ret;
	}
	pci_set_master(pdev);
	iowrite32(MYCFG_IRQ_ENABLE_DOORBELL_MASK | MYCFG_IRQ_ENABLE_DMA_DONE_MASK |
		  MYCFG_IRQ_ENABLE_DMA_ERROR_MASK, mp->regs + MYCFG_REG_IRQ_ENABLE);
	dev_info(dev, "%s interrupt %d, BAR%d RAM %pR\n",
		 pdev->msi_enabled ? "MSI" : "INTx", mp->irq, MYCFG_RAM_BAR,
		 &pdev->resource[MYCFG_RAM_BAR]);
	return 0;
}

static void mypci_engine_exit(struct mypci *mp)
{
	iowrite32(0, mp->regs + MYCFG_REG_IRQ_ENABLE);
	free_irq(mp->irq, mp);
	pci_clear_master(mp->pdev);
	pci_free_irq_vectors(mp->pdev);
}

static int mypci_probe(struct pci_dev *pdev, const struct pci_device_id *ent)
{
	const struct mypci_data *data = (const struct mypci_data *)ent->driver_data;
	struct device *dev = &pdev->dev;
	struct mypci *mp;
	int bar;
	int ret;

	BUILD_BUG_ON(MYPCI_REG_VALUE_SIZE != 1 && MYPCI_REG_VALUE_SIZE != 2 &&
		     MYPCI_REG_VALUE_SIZE != 4);
	BUILD_BUG_ON(MYPCI_REG_VALUE + MYPCI_REG_VALUE_SIZE > MYPCI_REGS_SPAN);

	/* Bound through driver_override: assume the minimal layout. */
	if (!data)
		data = &mypci_minimal_data;

	mp = devm_kzalloc(dev, sizeof(*mp), GFP_KERNEL);
	if (!mp)
		return -ENOMEM;

	mp->pdev = pdev;
	mp->data = data;
	mutex_init(&mp->lock);

	ret = pci_enable_device(pdev);
	if (ret) {
		dev_err(dev, "cannot enable PCI device: %d\n", ret);
		return ret;
	}

	ret = pci_request_regions(pdev, DRV_NAME);
	if (ret) {
		dev_err(dev, "cannot obtain PCI resources: %d\n", ret);
		goto err_disable_pdev;
	}

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (!(pci_resource_flags(pdev, bar) & IORESOURCE_MEM))
			continue;
		mp->bar[bar] = pci_ioremap_bar(pdev, bar);
		if (!mp->bar[bar]) {
			dev_err(dev, "cannot map BAR%d\n", bar);
			ret = -ENOMEM;
			goto err_iounmap;
		}
	}

	mp->regs = mp->bar[data->reg_bar];
	if (!mp->regs ||
	    pci_resource_len(pdev, data->reg_bar) < data->regs_span) {
		dev_err(dev, "BAR%d missing or smaller than %#llx bytes\n",
			data->reg_bar, (unsigned long long)data->regs_span);
		ret = -ENODEV;
		goto err_iounmap;
	}

	pci_set_drvdata(pdev, mp);
	if (data->engine) {
		ret = mypci_engine_init(mp);
		if (ret)
			goto err_iounmap;
	}
	dev_info(dev, "BAR%d at %pR, value %#llx\n", data->reg_bar,
		 &pdev->resource[data->reg_bar],
		 mypci_readreg(mp, MYPCI_REG_VALUE, MYPCI_REG_VALUE_SIZE));

	return 0;

err_iounmap:
	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (mp->bar[bar])
			pci_iounmap(pdev, mp->bar[bar]);
	}
	pci_release_regions(pdev);

err_disable_pdev:
	pci_disable_device(pdev);

	return ret;
}

static void mypci_remove(struct pci_dev *pdev)
{
	struct mypci *mp = pci_get_drvdata(pdev);
	int bar;

	if (mp->data->engine)
		mypci_engine_exit(mp);
	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (mp->bar[bar])
			pci_iounmap(pdev, mp->bar[bar]);
	}

	pci_release_regions(pdev);
	pci_disable_device(pdev);
}

static const struct pci_device_id mypci_tbl[] = {
	{ PCI_DEVICE_SUB(MYCFG_VENDOR_ID, MYCFG_DEVICE_ID,
			 MYCFG_SUBSYSTEM_VENDOR_ID, MYCFG_SUBSYSTEM_ID),
	  .driver_data = (kernel_ulong_t)&mypci_configurable_data },
	{ PCI_DEVICE(MYPCI_VENDOR_ID, MYPCI_DEVICE_ID),
	  .driver_data = (kernel_ulong_t)&mypci_minimal_data },
	{ }
};
MODULE_DEVICE_TABLE(pci, mypci_tbl);

static struct pci_driver mypci_driver = {
	.name = DRV_NAME,
	.id_table = mypci_tbl,
	.probe = mypci_probe,
	.remove = mypci_remove,
	.dev_groups = mypci_groups,
};
module_pci_driver(mypci_driver);

MODULE_DESCRIPTION("Driver for the mypci QEMU example devices");
MODULE_AUTHOR("qemu-modules-extra contributors");
MODULE_LICENSE("GPL");
