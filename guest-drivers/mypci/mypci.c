// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest driver for the mypci family of QEMU devices (mypci_minimal,
 * mypci_configurable): 1af4:1234, one 32-bit register in BAR0.
 *
 * The register's offset, width and the IDs come from the header that the
 * build generates from devices/mypci_minimal/mypci_minimal.regs.toml, the
 * same table the QEMU model is built from.
 *
 * The register is exposed as the sysfs attribute "value" of the PCI device
 * (/sys/bus/pci/devices/<slot>/value), in hex: reading it reads the
 * register, writing a number writes it.
 *
 * Layout follows drivers/misc/pci_endpoint_test.c: per-variant data in the
 * ID table, every memory BAR mapped in probe, unwinding in reverse order,
 * so interrupts, a second BAR and DMA slot in as new fields and steps.
 */

#include <linux/device.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sysfs.h>

#include "mypci_minimal-regs.h"

#define DRV_NAME "mypci"

/* What differs between the devices this driver binds to. */
struct mypci_data {
	int reg_bar;			/* BAR holding the register block */
	resource_size_t regs_span;	/* minimum size of that BAR */
};

struct mypci {
	struct pci_dev *pdev;
	const struct mypci_data *data;
	void __iomem *bar[PCI_STD_NUM_BARS];
	void __iomem *regs;		/* == bar[data->reg_bar] */
	struct mutex lock;		/* serialises register access */
};

static const struct mypci_data mypci_minimal_data = {
	.reg_bar = 0,
	.regs_span = MYPCI_REGS_SPAN,
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

static struct attribute *mypci_attrs[] = {
	&dev_attr_value.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mypci);

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

	for (bar = 0; bar < PCI_STD_NUM_BARS; bar++) {
		if (mp->bar[bar])
			pci_iounmap(pdev, mp->bar[bar]);
	}

	pci_release_regions(pdev);
	pci_disable_device(pdev);
}

static const struct pci_device_id mypci_tbl[] = {
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
