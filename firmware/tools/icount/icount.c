/*
 * icount.c: a QEMU TCG plugin that counts executed guest instructions exactly, per region
 * and per instruction address.
 *
 * A region runs from the first instruction of the firmware's `microprop_mark_start` to the
 * first instruction of `microprop_mark_stop` (addresses given as plugin arguments). For
 * every region it writes the total and the count of every instruction address executed
 * inside it, so the caller can attribute the instructions to functions (llvm-nm).
 *
 *   qemu-system-arm ... -plugin ./libicount.so,start=0x1234,stop=0x1240,out=counts.txt
 *
 * Debian's QEMU 7.2 is built with plugin support but ships no <qemu-plugin.h>: the few
 * declarations used here are those of plugin API version 1 (QEMU 7.x).
 * Build: gcc -O2 -shared -fPIC -o libicount.so icount.c
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
    const char *target_name;
    struct { int min; int cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus; int max_vcpus; } system; };
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Code lives in the first MiB (flash at 0 on mps2 and the micro:bit); Thumb instructions
 * are 2-byte aligned, so one counter per halfword. */
#define SPAN (1u << 20)
static uint64_t counts[SPAN / 2];
static uint64_t total, start_total;
static uint64_t start_addr = 1, stop_addr = 1; /* odd: never an instruction address */
static unsigned region;
static bool inside;
static FILE *out;

static void on_start(unsigned int vcpu, void *udata) {
    (void)vcpu; (void)udata;
    memset(counts, 0, sizeof counts);
    start_total = total;
    inside = true;
}

static void on_stop(unsigned int vcpu, void *udata) {
    (void)vcpu; (void)udata;
    if (!inside) return;
    inside = false;
    fprintf(out, "region %u %llu\n", region, (unsigned long long)(total - start_total));
    for (uint32_t i = 0; i < SPAN / 2; i++)
        if (counts[i]) fprintf(out, "pc %u %x %llu\n", region, i * 2, (unsigned long long)counts[i]);
    fflush(out);
    region++;
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc == start_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (pc == stop_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &total, 1);
        if (pc < SPAN)
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &counts[pc / 2], 1);
    }
}

static void at_exit_cb(qemu_plugin_id_t id, void *udata) {
    (void)id; (void)udata;
    fprintf(out, "total %llu\n", (unsigned long long)total);
    fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                              int argc, char **argv) {
    (void)info;
    const char *path = "icount.txt";
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "start=", 6)) start_addr = strtoull(argv[i] + 6, NULL, 0) & ~1ull;
        else if (!strncmp(argv[i], "stop=", 5)) stop_addr = strtoull(argv[i] + 5, NULL, 0) & ~1ull;
        else if (!strncmp(argv[i], "out=", 4)) path = argv[i] + 4;
    }
    out = fopen(path, "w");
    if (!out) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    qemu_plugin_register_atexit_cb(id, at_exit_cb, NULL);
    return 0;
}
