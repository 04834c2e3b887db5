// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minimal_pcie_nic_drv: Linux driver for qemu-modules-extra's
 * minimal-pcie-nic (seed 004).
 *
 * Asks for 4 vectors with MSI-X, falls back to MSI, then INTx.  sysfs
 * attributes on the PCI device:
 *   irq_mode    "msix N", "msi N" or "intx 1"
 *   trigger     write N: ring the doorbell for vector N
 *   irq_counts  one line per vector: "VECTOR LINUX_IRQ COUNT"
 *   dma_test    write LEN: guest buffer -> device -> second guest buffer,
 *               completion interrupt on the last vector, compare; read the
 *               result ("ok LEN", "mismatch at OFF", "error STATUS", ...)
 *   bench_irq   write N: N doorbell rounds, each timed from the doorbell
 *               write to the handler's entry; read "rounds N avg_ns X"
 *
 * With edu_baseline=1 the driver also binds QEMU's edu device (1234:11e8
 * with a 1 MiB BAR0), one MSI vector, so bench_irq measures the same path
 * through edu for comparison.
 *
 * Copyright (c) 2026 qemu-modules-extra developers
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "minimal_pcie_nic-regs.h"

/* PCI_IRQ_INTX is Linux 6.8's name for PCI_IRQ_LEGACY (gone in 6.10). */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

#define DRV_NAME	"minimal_pcie_nic_drv"
#define MPN_WANT_VECTORS 4

/* edu (QEMU docs/specs/edu.txt): only what the baseline needs */
#define EDU_BAR0_SIZE	0x100000
#define EDU_REG_IDENT	0x00
#define EDU_IDENT_MASK	0xff
#define EDU_IDENT_LOW	0xed
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK	0x64

static char *irq_mode = "auto";
module_param(irq_mode, charp, 0444);
MODULE_PARM_DESC(irq_mode, "auto (MSI-X, then MSI, then INTx), msix, msi or intx");

static bool edu_baseline;
module_param(edu_baseline, bool, 0444);
MODULE_PARM_DESC(edu_baseline, "Also bind QEMU's edu device (benchmark baseline)");

struct mpn_dev;

struct mpn_vec {
	struct mpn_dev *mpn;
	unsigned int index;
	unsigned long count;
};

struct mpn_dev {
	struct pci_dev *pdev;
	void __iomem *bar0;
	void __iomem *bar1;
	bool is_edu;
	const char *mode;
	int nvec;
	struct mpn_vec *vec;
	struct mutex lock;		/* one dma_test or bench_irq at a time */
	struct completion done;
	bool quiet;			/* no printk per interrupt while timing */
	ktime_t entry;			/* handler entry of the timed interrupt */
	char dma_result[64];
	unsigned int bench_rounds;
	u64 bench_avg_ns;
};

static irqreturn_t mpn_irq(int irq, void *data)
{
	struct mpn_vec *v = data;
	struct mpn_dev *mpn = v->mpn;
	ktime_t now = ktime_get();
	u32 status;

	if (mpn->is_edu) {
		status = ioread32(mpn->bar0 + EDU_REG_IRQ_STATUS);
		if (!status)
			return IRQ_NONE;
		iowrite32(status, mpn->bar0 + EDU_REG_IRQ_ACK);
	} else if (!strcmp(mpn->mode, "intx")) {
		status = ioread32(mpn->bar0 + MPN_REG_INT_STATUS);
		if (!status)
			return IRQ_NONE;
		iowrite32(status, mpn->bar0 + MPN_REG_INT_STATUS);
	}
	v->count++;
	mpn->entry = now;
	if (!mpn->quiet) {
		if (!strcmp(mpn->mode, "msix"))
			pr_info(DRV_NAME ": MSI-X interrupt received\n");
		else if (!strcmp(mpn->mode, "msi"))
			pr_info(DRV_NAME ": MSI interrupt received\n");
		else
			pr_info(DRV_NAME ": INTx interrupt received\n");
		pr_info("IRQ %d fired\n", irq);
	}
	complete(&mpn->done);
	return IRQ_HANDLED;
}

static void mpn_ring(struct mpn_dev *mpn, unsigned int vector)
{
	if (mpn->is_edu)
		iowrite32(1, mpn->bar0 + EDU_REG_IRQ_RAISE);
	else
		iowrite32(vector, mpn->bar0 + MPN_REG_DOORBELL);
}

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s %d\n", mpn->mode, mpn->nvec);
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t trigger_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);
	u32 vector;
	int ret;

	if (!mpn->bar0)
		return -ENODEV;
	ret = kstrtou32(buf, 0, &vector);
	if (ret)
		return ret;
	/* Out-of-range vectors go through: the device must refuse them. */
	mpn_ring(mpn, vector);
	return count;
}
static DEVICE_ATTR_WO(trigger);

static ssize_t irq_counts_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);
	int i, len = 0;

	for (i = 0; i < mpn->nvec; i++)
		len += sysfs_emit_at(buf, len, "%d %d %lu\n", i,
				     pci_irq_vector(mpn->pdev, i),
				     mpn->vec[i].count);
	return len;
}
static DEVICE_ATTR_RO(irq_counts);

static int mpn_dma_round_trip(struct mpn_dev *mpn, u32 len)
{
	struct device *dev = &mpn->pdev->dev;
	u32 vector = mpn->nvec - 1;
	dma_addr_t a_dma, b_dma;
	u8 *a, *b;
	u32 status, i;
	int ret = 0;

	a = dma_alloc_coherent(dev, len, &a_dma, GFP_KERNEL);
	b = dma_alloc_coherent(dev, len, &b_dma, GFP_KERNEL);
	if (!a || !b) {
		scnprintf(mpn->dma_result, sizeof(mpn->dma_result),
			  "nomem %u", len);
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < len; i++)
		a[i] = (u8)(i * 13 + (i >> 10) + 1);
	memset(b, 0, len);

	/* in: guest buffer A -> device buffer, no interrupt */
	writeq(a_dma, mpn->bar0 + MPN_REG_DMA_SRC);
	writeq(0, mpn->bar0 + MPN_REG_DMA_DST);
	iowrite32(len, mpn->bar0 + MPN_REG_DMA_LEN);
	iowrite32(~0u, mpn->bar0 + MPN_REG_DMA_STATUS);
	iowrite32(MPN_DMA_CMD_START_MASK |
		  QME_FIELD_PREP(MPN_DMA_CMD, DIR, MPN_DIR_TO_DEVICE),
		  mpn->bar0 + MPN_REG_DMA_CMD);
	status = ioread32(mpn->bar0 + MPN_REG_DMA_STATUS);
	if (status != MPN_DMA_STATUS_DONE_MASK)
		goto bad_status;

	/* out: device buffer -> guest buffer B, completion interrupt */
	reinit_completion(&mpn->done);
	writeq(0, mpn->bar0 + MPN_REG_DMA_SRC);
	writeq(b_dma, mpn->bar0 + MPN_REG_DMA_DST);
	iowrite32(~0u, mpn->bar0 + MPN_REG_DMA_STATUS);
	iowrite32(MPN_DMA_CMD_START_MASK | MPN_DMA_CMD_IRQ_MASK |
		  QME_FIELD_PREP(MPN_DMA_CMD, DIR, MPN_DIR_FROM_DEVICE) |
		  QME_FIELD_PREP(MPN_DMA_CMD, VECTOR, vector),
		  mpn->bar0 + MPN_REG_DMA_CMD);
	if (!wait_for_completion_timeout(&mpn->done, HZ)) {
		scnprintf(mpn->dma_result, sizeof(mpn->dma_result),
			  "no completion interrupt on vector %u", vector);
		ret = -ETIMEDOUT;
		goto out;
	}
	status = ioread32(mpn->bar0 + MPN_REG_DMA_STATUS);
	if (status != MPN_DMA_STATUS_DONE_MASK)
		goto bad_status;
	for (i = 0; i < len; i++) {
		if (a[i] != b[i]) {
			scnprintf(mpn->dma_result, sizeof(mpn->dma_result),
				  "mismatch at %u", i);
			ret = -EIO;
			goto out;
		}
	}
	scnprintf(mpn->dma_result, sizeof(mpn->dma_result), "ok %u", len);
	goto out;

bad_status:
	scnprintf(mpn->dma_result, sizeof(mpn->dma_result), "error 0x%x",
		  status);
	ret = -EIO;
out:
	if (a)
		dma_free_coherent(dev, len, a, a_dma);
	if (b)
		dma_free_coherent(dev, len, b, b_dma);
	return ret;
}

static ssize_t dma_test_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t count)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);
	u32 len;
	int ret;

	if (mpn->is_edu || !mpn->nvec)
		return -EOPNOTSUPP;
	ret = kstrtou32(buf, 0, &len);
	if (ret)
		return ret;
	if (!len || len > ioread32(mpn->bar0 + MPN_REG_DMA_BUF_SIZE))
		return -EINVAL;
	mutex_lock(&mpn->lock);
	ret = mpn_dma_round_trip(mpn, len);
	mutex_unlock(&mpn->lock);
	return ret ? ret : count;
}

static ssize_t dma_test_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", mpn->dma_result);
}
static DEVICE_ATTR_RW(dma_test);

static ssize_t bench_irq_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t count)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);
	unsigned int rounds, i;
	u64 total = 0;
	ktime_t t0;
	int ret;

	if (!mpn->nvec)
		return -EOPNOTSUPP;
	ret = kstrtouint(buf, 0, &rounds);
	if (ret)
		return ret;
	if (!rounds || rounds > 1000000)
		return -EINVAL;
	mutex_lock(&mpn->lock);
	mpn->quiet = true;
	for (i = 0; i < rounds; i++) {
		reinit_completion(&mpn->done);
		t0 = ktime_get();
		mpn_ring(mpn, 0);
		if (!wait_for_completion_timeout(&mpn->done, HZ)) {
			ret = -ETIMEDOUT;
			break;
		}
		total += ktime_to_ns(ktime_sub(mpn->entry, t0));
	}
	mpn->quiet = false;
	mpn->bench_rounds = i;
	mpn->bench_avg_ns = i ? div_u64(total, i) : 0;
	mutex_unlock(&mpn->lock);
	return ret ? ret : count;
}

static ssize_t bench_irq_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct mpn_dev *mpn = dev_get_drvdata(dev);

	return sysfs_emit(buf, "rounds %u avg_ns %llu\n", mpn->bench_rounds,
			  mpn->bench_avg_ns);
}
static DEVICE_ATTR_RW(bench_irq);

static struct attribute *mpn_attrs[] = {
	&dev_attr_irq_mode.attr,
	&dev_attr_trigger.attr,
	&dev_attr_irq_counts.attr,
	&dev_attr_dma_test.attr,
	&dev_attr_bench_irq.attr,
	NULL,
};
ATTRIBUTE_GROUPS(mpn);

static int mpn_alloc_vectors(struct mpn_dev *mpn)
{
	struct pci_dev *pdev = mpn->pdev;
	int want = mpn->is_edu ? 1 : MPN_WANT_VECTORS;
	bool any = !strcmp(irq_mode, "auto");
	int n = -ENODEV;

	if (any || !strcmp(irq_mode, "msix")) {
		n = pci_alloc_irq_vectors(pdev, 1, want, PCI_IRQ_MSIX);
		mpn->mode = "msix";
	}
	if (n < 0 && (any || !strcmp(irq_mode, "msi"))) {
		n = pci_alloc_irq_vectors(pdev, 1, want, PCI_IRQ_MSI);
		mpn->mode = "msi";
	}
	if (n < 0 && (any || !strcmp(irq_mode, "intx"))) {
		n = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_INTX);
		mpn->mode = "intx";
	}
	return n;
}

static int mpn_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct mpn_dev *mpn;
	int i, ret;

	/* 1234:11e8 is both the basic stage (no BARs) and QEMU's edu. */
	if (pdev->vendor == MPN_VENDOR_ID_BASIC &&
	    pci_resource_len(pdev, 0) == EDU_BAR0_SIZE && !edu_baseline)
		return -ENODEV;

	pr_info(DRV_NAME ": probe\n");
	mpn = devm_kzalloc(dev, sizeof(*mpn), GFP_KERNEL);
	if (!mpn)
		return -ENOMEM;
	mpn->pdev = pdev;
	mutex_init(&mpn->lock);
	init_completion(&mpn->done);
	mpn->mode = "none";
	pci_set_drvdata(pdev, mpn);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	if (!pci_resource_len(pdev, 0)) {
		/* stage basic: nothing to drive */
		pr_info(DRV_NAME ": no BARs (basic stage)\n");
		return 0;
	}
	ret = pcim_iomap_regions(pdev, BIT(0) |
				 (pci_resource_len(pdev, 1) ? BIT(1) : 0),
				 DRV_NAME);
	if (ret)
		return ret;
	mpn->bar0 = pcim_iomap_table(pdev)[0];
	mpn->bar1 = pcim_iomap_table(pdev)[1];
	mpn->is_edu = pdev->vendor == MPN_VENDOR_ID_BASIC &&
		      (ioread32(mpn->bar0 + EDU_REG_IDENT) & EDU_IDENT_MASK) ==
		      EDU_IDENT_LOW;
	dev_info(dev, "BAR0 %pR\n", &pdev->resource[0]);
	if (mpn->bar1)
		dev_info(dev, "BAR1 %pR\n", &pdev->resource[1]);
	if (pdev->revision == MPN_REVISION_MMIO && !mpn->is_edu) {
		/* stage mmio: registers only, no interrupt */
		pr_info(DRV_NAME ": BAR0=%p IRQ Vector Number=0\n", mpn->bar0);
		return 0;
	}

	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	ret = mpn_alloc_vectors(mpn);
	if (ret < 0) {
		dev_err(dev, "no interrupt vectors (irq_mode=%s): %d\n",
			irq_mode, ret);
		return ret;
	}
	mpn->nvec = ret;
	mpn->vec = devm_kcalloc(dev, mpn->nvec, sizeof(*mpn->vec), GFP_KERNEL);
	if (!mpn->vec) {
		ret = -ENOMEM;
		goto err_vectors;
	}
	for (i = 0; i < mpn->nvec; i++) {
		mpn->vec[i].mpn = mpn;
		mpn->vec[i].index = i;
		ret = request_irq(pci_irq_vector(pdev, i), mpn_irq,
				  !strcmp(mpn->mode, "intx") ? IRQF_SHARED : 0,
				  DRV_NAME, &mpn->vec[i]);
		if (ret)
			goto err_irqs;
	}
	pr_info(DRV_NAME ": BAR0=%p BAR1=%p IRQ Vector Number=%d\n",
		mpn->bar0, mpn->bar1, mpn->nvec);
	dev_info(dev, "%s%s: %d %s vector(s)\n",
		 mpn->is_edu ? "edu baseline" : "minimal-pcie-nic",
		 pci_is_pcie(pdev) ? " (PCIe)" : "", mpn->nvec, mpn->mode);
	return 0;

err_irqs:
	while (--i >= 0)
		free_irq(pci_irq_vector(pdev, i), &mpn->vec[i]);
err_vectors:
	pci_free_irq_vectors(pdev);
	return ret;
}

static void mpn_remove(struct pci_dev *pdev)
{
	struct mpn_dev *mpn = pci_get_drvdata(pdev);
	int i;

	for (i = 0; i < mpn->nvec; i++)
		free_irq(pci_irq_vector(pdev, i), &mpn->vec[i]);
	if (mpn->nvec)
		pci_free_irq_vectors(pdev);
}

static const struct pci_device_id mpn_ids[] = {
	{ PCI_DEVICE(MPN_VENDOR_ID, MPN_DEVICE_ID) },
	{ PCI_DEVICE(MPN_VENDOR_ID_BASIC, MPN_DEVICE_ID_BASIC) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mpn_ids);

static struct pci_driver mpn_driver = {
	.name = DRV_NAME,
	.id_table = mpn_ids,
	.probe = mpn_probe,
	.remove = mpn_remove,
	.dev_groups = mpn_groups,
};
module_pci_driver(mpn_driver);

MODULE_DESCRIPTION("Driver for the qemu-modules-extra minimal-pcie-nic (seed 004)");
MODULE_AUTHOR("qemu-modules-extra developers");
MODULE_LICENSE("GPL");
