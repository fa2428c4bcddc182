// SPDX-License-Identifier: GPL-2.0
/* bench_empty.bpf.c — an empty program on the tracker's attach point
 * (tp_btf/sys_exit), loaded by bench/tracker_cost.c so the tracker's cost
 * can be told apart from the cost of having any program there at all. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(bench_empty_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
