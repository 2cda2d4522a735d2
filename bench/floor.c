/*
 * The warm and cold syscall floor of a sockpulse cycle, in C (bench/cfloor.ts builds and runs it).
 * Not the agent's code: the least a procfs cycle can do for the same files, with no parsing.
 *
 *   .build/floor CYCLES < list      list: one "group<TAB>end<TAB>path" line per file the agent keeps open
 *
 * Every cycle, timed with CLOCK_MONOTONIC:
 *   scan:   readdir /proc + readlink /proc/<pid>/ns/net of every pid (procfs discovery's work);
 *   warm:   per group, pread from offset 0 to end of file on a descriptor opened once before the
 *           first cycle (the seq_file regenerates the numbers at offset 0), as src/procfs/kept.ts;
 *   cold:   open + read to end + close of every path (a --once cycle's reads).
 * Reading "to end" means until a read returns 0, or, as the agent's reader does, until a read short
 * of the buffer and of "end" bytes (-1: any short read; 0: never) — the bounds below which the
 * kernel's seq files have ended (src/procfs/read.ts, SHORT_READ_IS_END). A file that cannot be
 * opened (its process left) is counted in "missing" and skipped.
 * Each phase's CPU time (getrusage: user + system) is measured too: on a shared machine it is the
 * steadier figure.
 * Prints one JSON line: {"scanMs":[..],"coldMs":[..],"scanCpuMs":[..],"warmCpuMs":[..],"coldCpuMs":[..],
 *   "missing":n,"groups":[{"name":..,"files":n,"warmMs":[..]}]}
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_GROUPS 32

struct file {
	char *path;
	int group;
	int fd;
	long end; /* a read shorter than this (and the buffer) is the end; -1: any short read */
};

static char buf[256 * 1024];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time of this process (user + system): on a shared machine steadier than wall time. */
static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int is_end(ssize_t n, long end)
{
	return (size_t)n < sizeof buf && (end < 0 || n < end);
}

static void drain_fd(int fd, long end)
{
	off_t off = 0;
	ssize_t n;
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		off += n;
		if (is_end(n, end))
			break;
	}
}

static void scan(void)
{
	char path[300], link[64];
	DIR *d = opendir("/proc");
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/ns/net", e->d_name);
		(void)readlink(path, link, sizeof link);
	}
	closedir(d);
}

static void print_series(const char *name, const double *xs, int n)
{
	printf("\"%s\":[", name);
	for (int i = 0; i < n; i++)
		printf("%s%.4f", i ? "," : "", xs[i]);
	printf("]");
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 20;
	char *names[MAX_GROUPS];
	int ngroups = 0, nfiles = 0, cap = 1024, missing = 0;
	struct file *files = malloc(cap * sizeof *files);
	char line[4096];
	struct rlimit rl;

	if (cycles <= 0 || !files)
		return 2;
	/* One descriptor per file, as the agent keeps: raise the soft limit to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	while (fgets(line, sizeof line, stdin)) {
		char *tab = strchr(line, '\t'), *path;
		long end;
		int g;
		if (!tab)
			continue;
		end = strtol(tab + 1, &path, 10);
		if (path == tab + 1 || *path != '\t')
			continue;
		*tab = '\0';
		path++;
		path[strcspn(path, "\n")] = '\0';
		for (g = 0; g < ngroups && strcmp(names[g], line) != 0; g++)
			;
		if (g == ngroups) {
			if (ngroups == MAX_GROUPS)
				return 2;
			names[ngroups++] = strdup(line);
		}
		if (nfiles == cap && !(files = realloc(files, (cap *= 2) * sizeof *files)))
			return 2;
		files[nfiles].path = strdup(path);
		files[nfiles].group = g;
		files[nfiles].end = end;
		files[nfiles].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (files[nfiles].fd < 0)
			missing++;
		nfiles++;
	}

	double *scan_ms = calloc(cycles, sizeof(double));
	double *cold_ms = calloc(cycles, sizeof(double));
	double *scan_cpu = calloc(cycles, sizeof(double));
	double *warm_cpu = calloc(cycles, sizeof(double));
	double *cold_cpu = calloc(cycles, sizeof(double));
	double *warm_ms = calloc((size_t)cycles * (ngroups ? ngroups : 1), sizeof(double));
	int *count = calloc(ngroups ? ngroups : 1, sizeof(int));
	if (!scan_ms || !cold_ms || !scan_cpu || !warm_cpu || !cold_cpu || !warm_ms || !count)
		return 2;
	for (int i = 0; i < nfiles; i++)
		if (files[i].fd >= 0)
			count[files[i].group]++;

	for (int c = 0; c < cycles; c++) {
		double c0 = cpu_ms(), t0 = now_ms();
		scan();
		scan_ms[c] = now_ms() - t0;
		scan_cpu[c] = cpu_ms() - c0;
		c0 = cpu_ms();
		for (int g = 0; g < ngroups; g++) {
			t0 = now_ms();
			for (int i = 0; i < nfiles; i++)
				if (files[i].group == g && files[i].fd >= 0)
					drain_fd(files[i].fd, files[i].end);
			warm_ms[c * ngroups + g] = now_ms() - t0;
		}
		warm_cpu[c] = cpu_ms() - c0;
		c0 = cpu_ms();
		t0 = now_ms();
		for (int i = 0; i < nfiles; i++) {
			int fd;
			if (files[i].fd < 0 || (fd = open(files[i].path, O_RDONLY | O_CLOEXEC)) < 0)
				continue;
			ssize_t n;
			while ((n = read(fd, buf, sizeof buf)) > 0 && !is_end(n, files[i].end))
				;
			close(fd);
		}
		cold_ms[c] = now_ms() - t0;
		cold_cpu[c] = cpu_ms() - c0;
	}

	printf("{");
	print_series("scanMs", scan_ms, cycles);
	printf(",");
	print_series("coldMs", cold_ms, cycles);
	printf(",");
	print_series("scanCpuMs", scan_cpu, cycles);
	printf(",");
	print_series("warmCpuMs", warm_cpu, cycles);
	printf(",");
	print_series("coldCpuMs", cold_cpu, cycles);
	printf(",\"missing\":%d,\"groups\":[", missing);
	double *col = calloc(cycles, sizeof(double));
	for (int g = 0; g < ngroups; g++) {
		for (int c = 0; c < cycles; c++)
			col[c] = warm_ms[c * ngroups + g];
		printf("%s{\"name\":\"%s\",\"files\":%d,", g ? "," : "", names[g], count[g]);
		print_series("warmMs", col, cycles);
		printf("}");
	}
	printf("]}\n");
	return 0;
}
