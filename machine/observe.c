// SPDX-License-Identifier: MIT
/*
 * Looking at the running machine: the --stats figures gathered from the
 * vCPUs and every virtqueue, and the control socket's commands (the socket
 * and its syntax are core/api.c's). Part of the composition root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/vcpu.h"
#include "devices/virtio/virtio.h"
#include "machine/machine.h"

/* --stats, --stats-json: counting starts before any vCPU or worker does. */
int stats_prepare(struct machine *m)
{
	const struct vmm_config *cfg = m->cfg;

	stats_enabled = cfg->stats || cfg->stats_json;
	static char json_buf[1 << 16];

	if (cfg->stats_json && !(m->stats_json = fopen(cfg->stats_json, "we")))
		return set_error("--stats-json %s: %s", cfg->stats_json, strerror(errno));
	/* A buffer of ours: stdio would fstat() the file for one, which seccomp refuses later. */
	if (m->stats_json)
		setvbuf(m->stats_json, json_buf, _IOFBF, sizeof(json_buf));
	for (unsigned int i = 0; stats_enabled && i < m->vm.ncpus; i++)
		if (vcpu_stats_alloc(&m->vm.vcpus[i]) < 0)
			return -1;
	return 0;
}

/* Every figure now: the vCPUs' and each virtqueue's. -1 when out of memory. */
static int stats_gather(struct machine *m, struct stats_report *r)
{
	*r = (struct stats_report){.uptime_ns = ms_since(&m->vm.start) * 1000000};
	if (vcpu_stats_gather(&m->vm, r) < 0)
		return -1;
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		struct virtio_dev *vdev = m->virtio[i].vdev;

		for (unsigned int q = 0; vdev && q < vdev->nr_queues; q++) {
			struct stats_queue_row *row = stats_report_queue(r);

			if (!row)
				return -1;
			snprintf(row->device, sizeof(row->device), "%s", vdev->name);
			snprintf(row->queue, sizeof(row->queue), "q%u", q);
			stats_queue_read(&row->q, &vdev->vqs[q].stats);
			row->needs_reset = q ? 0 : STAT_READ(vdev->needs_reset_count);
		}
	}
	return 0;
}

void stats_report(struct machine *m)
{
	struct stats_report r;

	if (!stats_enabled)
		return;
	if (stats_gather(m, &r) < 0) {
		vmm_log("--stats: out of memory");
	} else {
		if (m->cfg->stats)
			stats_report_print_text(&r, stderr);
		if (m->stats_json) {
			stats_report_print_json(&r, m->stats_json);
			fputc('\n', m->stats_json);
		}
	}
	if (m->stats_json && fclose(m->stats_json) != 0)
		vmm_log("--stats-json %s: %s", m->cfg->stats_json, strerror(errno));
	m->stats_json = NULL;
	stats_report_free(&r);
}

/* ---- --api-sock: the commands (core/api.c has the socket and the syntax) ---- */

static const char *virtio_type(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK: return "blk";
	case VIRTIO_ID_NET: return "net";
	case VIRTIO_ID_9P: return "9p";
	default: return "?";
	}
}

static void api_string(FILE *out, const char *key, const char *value)
{
	fprintf(out, ",\"%s\":", key);
	if (value)
		json_string(out, value);
	else
		fputs("null", out);
}

static void api_info(struct machine *m, FILE *out)
{
	const struct vmm_config *cfg = m->cfg;

	api_string(out, "vmm", VMM_VERSION);
	api_string(out, "state", vcpus_paused(&m->vm) ? "paused" : "running");
	fprintf(out, ",\"uptime_ms\":%llu,\"cpus\":%u,\"mem_bytes\":%llu",
		(unsigned long long)ms_since(&m->vm.start), cfg->cpus,
		(unsigned long long)cfg->mem);
	api_string(out, "kernel", cfg->kernel);
	api_string(out, "cmdline", cfg->cmdline);
	api_string(out, "exec", cfg->exec);
	fprintf(out, ",\"machine\":\"%s\",\"devices\":[", cfg->mptable ? "mptable" : "devicetree");
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		const struct virtio_slot *s = &m->virtio[i];

		if (!s->vdev)
			continue;
		fprintf(out,
			"%s{\"name\":\"%s\",\"type\":\"%s\",\"mmio\":\"0x%llx\",\"irq\":%u,"
			"\"status\":%u}",
			i ? "," : "", s->vdev->name, virtio_type(s->vdev->device_id),
			(unsigned long long)s->transport.base, s->transport.gsi,
			atomic_load(&s->vdev->status));
	}
	fputs("]", out);
}

static int api_stats(struct machine *m, FILE *out)
{
	struct stats_report r;
	int err = 0;

	if (!stats_enabled)
		return set_error("no figures: start the VMM with --stats or --stats-json");
	if (stats_gather(m, &r) < 0)
		err = set_error("out of memory");
	else {
		fputs(",\"stats\":", out);
		stats_report_print_json(&r, out);
	}
	stats_report_free(&r);
	return err;
}

int api_command(void *opaque, const struct api_request *req, FILE *out)
{
	struct machine *m = opaque;

	if (!strcmp(req->cmd, "info")) {
		api_info(m, out);
		return 0;
	}
	if (!strcmp(req->cmd, "pause")) {
		if (vcpus_pause(&m->vm) < 0)
			return -1;
		api_string(out, "state", "paused");
		return 0;
	}
	if (!strcmp(req->cmd, "resume")) {
		vcpus_resume(&m->vm);
		api_string(out, "state", "running");
		return 0;
	}
	if (!strcmp(req->cmd, "stats"))
		return api_stats(m, out);
	if (!strcmp(req->cmd, "quit")) {
		if (req->has_status && (req->status < 0 || req->status > 255))
			return set_error("\"status\" must be 0 to 255");
		fprintf(out, ",\"status\":%d", req->has_status ? req->status : 0);
		vm_request_stop(&m->vm, req->has_status ? req->status : 0, NULL);
		return 0;
	}
	return set_error("unknown command \"%s\" (info, pause, resume, stats, quit)", req->cmd);
}
