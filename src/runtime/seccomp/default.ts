// stack's default seccomp profile: the semantics of Docker's default (moby's profiles/seccomp),
// written out here in stack's own grouping. Everything not named is refused with EPERM; the
// syscalls that reach kernel state shared with the host (mount, namespaces, keyrings, bpf,
// modules, kexec, clocks, reboot ...) are allowed only to a service that holds the capability
// guarding them, as Docker does; `clone` may not ask for new namespaces without CAP_SYS_ADMIN
// and `clone3` (whose flags a filter cannot read) answers ENOSYS so libc falls back to clone.
// keyctl, add_key, request_key, kexec_load, kexec_file_load, userfaultfd, pivot_root, swapon,
// io_uring_* (its operations bypass the filter), ... are named nowhere: refused to everyone.
import type { SeccompProfile, SeccompSyscall } from '../../spec/seccomp-profile.js';

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

/** Allowed to every service, whatever its capabilities. */
const ALWAYS = {
  files: words(`
    access faccessat faccessat2 open openat openat2 creat close close_range read readv pread64 preadv preadv2
    write writev pwrite64 pwritev pwritev2 lseek _llseek dup dup2 dup3 fcntl fcntl64 flock
    stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64
    truncate truncate64 ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 readahead
    fsync fdatasync sync syncfs sync_file_range sendfile sendfile64 copy_file_range splice tee vmsplice
    mkdir mkdirat rmdir rename renameat renameat2 link linkat unlink unlinkat symlink symlinkat
    readlink readlinkat mknod mknodat getdents getdents64 getcwd chdir fchdir umask
    chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32 fchownat lchown lchown32
    utime utimes utimensat utimensat_time64 futimesat name_to_handle_at cachestat
    getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat
    listxattr llistxattr flistxattr listxattrat removexattr lremovexattr fremovexattr removexattrat
    inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark
    io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64
    ioctl
    landlock_create_ruleset landlock_add_rule landlock_restrict_self listmount statmount`),
  polling: words(`
    select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64
    epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
    eventfd eventfd2 signalfd signalfd4 timerfd_create timerfd_settime timerfd_settime64
    timerfd_gettime timerfd_gettime64 pipe pipe2`),
  memory: words(`
    brk mmap mmap2 munmap mremap mprotect madvise mincore msync remap_file_pages mlock mlock2 mlockall
    munlock munlockall membarrier memfd_create memfd_secret mseal pkey_alloc pkey_free pkey_mprotect
    map_shadow_stack`),
  processes: words(`
    fork vfork execve execveat exit exit_group wait4 waitid waitpid kill tkill tgkill
    getpid getppid gettid getpgid getpgrp setpgid getsid setsid set_tid_address
    set_robust_list get_robust_list rseq restart_syscall futex futex_time64 futex_waitv futex_wait
    futex_wake futex_requeue prctl getcpu getrandom uname sysinfo times getrusage
    getrlimit setrlimit ugetrlimit prlimit64 getpriority setpriority ioprio_get ioprio_set
    sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam sched_setparam
    sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min
    sched_rr_get_interval sched_rr_get_interval_time64 pidfd_open pidfd_send_signal process_mrelease
    capget capset seccomp get_thread_area set_thread_area riscv_hwprobe uretprobe`),
  identity: words(`
    getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32
    getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32
    setregid setregid32 setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32
    setfsgid setfsgid32 setgroups setgroups32`),
  signals: words(`
    rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigsuspend rt_sigtimedwait
    rt_sigtimedwait_time64 rt_sigqueueinfo rt_tgsigqueueinfo sigaltstack sigprocmask sigreturn pause
    alarm getitimer setitimer`),
  time: words(`
    time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64
    clock_nanosleep clock_nanosleep_time64 nanosleep adjtimex clock_adjtime clock_adjtime64
    timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64`),
  network: words(`
    socketcall socketpair bind listen accept accept4 connect getsockname getpeername getsockopt setsockopt
    send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown`),
  ipc: words(`
    ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl
    shmget shmat shmdt shmctl mq_open mq_unlink mq_timedsend mq_timedsend_time64
    mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr`),
};

/** Allowed to a service that holds the capability: each one guards what the syscalls reach. */
const BY_CAPABILITY: readonly [string, string][] = [
  ['CAP_DAC_READ_SEARCH', 'open_by_handle_at'],
  [
    'CAP_SYS_ADMIN',
    `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr
     move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog
     umount umount2 unshare lsm_get_self_attr lsm_list_modules lsm_set_self_attr`,
  ],
  ['CAP_SYS_BOOT', 'reboot'],
  ['CAP_SYS_CHROOT', 'chroot'],
  ['CAP_SYS_MODULE', 'init_module finit_module delete_module'],
  ['CAP_SYS_PACCT', 'acct'],
  ['CAP_SYS_PTRACE', 'ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd process_madvise'],
  ['CAP_SYS_RAWIO', 'iopl ioperm'],
  ['CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'],
  ['CAP_SYS_TTY_CONFIG', 'vhangup'],
  ['CAP_SYS_NICE', 'mbind get_mempolicy set_mempolicy set_mempolicy_home_node'],
  ['CAP_SYSLOG', 'syslog'],
  ['CAP_BPF', 'bpf'],
  ['CAP_PERFMON', 'perf_event_open'],
];

/** Allowed only on the architectures (Docker's native names) that have them. */
const BY_ARCHITECTURE: readonly [string, string][] = [
  ['amd64 x32', 'arch_prctl'],
  ['amd64 x32 x86', 'modify_ldt'],
  ['arm arm64', 'arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls'],
  ['ppc64le', 'sync_file_range2 swapcontext'],
  ['s390 s390x', 's390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr'],
  ['riscv64', 'riscv_flush_icache'],
];

/** The namespace flags of clone(2): CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET (0x7E020000). */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 + 0x02000000 + 0x04000000 + 0x08000000 + 0x10000000 + 0x20000000 + 0x40000000;

/** The address families a socket may not be of: AF_ALG (38) and AF_VSOCK (40). */
const socketRules: SeccompSyscall[] = [
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 38, op: 'SCMP_CMP_LT' }] },
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 39, op: 'SCMP_CMP_EQ' }] },
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }] },
];

/** personality(2) only with the personas programs ask for: Linux, its 32-bit variant, and the query. */
const personalityRules: SeccompSyscall[] = [0, 0x0008, 0x20000, 0x20008, 0xffffffff].map((value) => ({
  names: ['personality'],
  action: 'SCMP_ACT_ALLOW',
  args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }],
}));

/** clone without namespace flags for everyone else (s390 has the flags in the second argument). */
const cloneRules: SeccompSyscall[] = [
  {
    names: ['clone'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
  },
  {
    names: ['clone'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    includes: { arches: ['s390', 's390x'] },
    excludes: { caps: ['CAP_SYS_ADMIN'] },
  },
  { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 /* ENOSYS */, excludes: { caps: ['CAP_SYS_ADMIN'] } },
];

/** The profile every service runs under unless `security_opt` or `privileged` says otherwise. */
export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1, // EPERM
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null },
  ],
  syscalls: [
    { names: Object.values(ALWAYS).flat(), action: 'SCMP_ACT_ALLOW' },
    // Before 4.8 a ptrace could get around seccomp; Docker allows these from then on.
    { names: ['ptrace', 'process_vm_readv', 'process_vm_writev'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
    ...socketRules,
    ...personalityRules,
    ...BY_ARCHITECTURE.map(([arches, names]): SeccompSyscall => ({ names: words(names), action: 'SCMP_ACT_ALLOW', includes: { arches: words(arches) } })),
    ...BY_CAPABILITY.map(([cap, names]): SeccompSyscall => ({ names: words(names), action: 'SCMP_ACT_ALLOW', includes: { caps: [cap] } })),
    ...cloneRules,
  ],
};
