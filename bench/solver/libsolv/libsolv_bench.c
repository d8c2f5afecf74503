/*
 * libsolv_bench loads a libsolv testcase (written by envkit's bench/solver)
 * and times solver_solve on it.
 *
 *   libsolv_bench TESTCASE REPS [BUDGET_MS]
 *
 * It stops repeating early once the solves took BUDGET_MS (default: no
 * budget) and at least two were made (the first is a warm-up). Times are
 * wall times, or the process's CPU time with LIBSOLV_BENCH_CLOCK=cpu.
 *
 * It prints one "key value..." line per fact, for bench/solver to read:
 *
 *   libsolv <version> conda <yes|no>   the library and whether it was built
 *                                      with conda support (DISTTYPE_CONDA)
 *   load_ms <ms>                       testcase_read: parsing the testtags
 *                                      repos and building whatprovides
 *   solvables <n>
 *   solve_ms <ms> <pkg> <choice> <search>
 *                                      one line per repetition: solver_create
 *                                      + solver_solve (solver_free excluded),
 *                                      then libsolv's own whole-ms figures
 *                                      for its package-rule creation,
 *                                      choice-rule creation and SAT search
 *   problems <n>                       of the last repetition
 *   explain_ms <ms>                    when unsatisfiable: every problem's
 *                                      rules found and described in text
 *   install <name> <evr> <repo>        the last repetition's solution, not
 *                                      counting the installed (virtual) repo
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <solv/evr.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/solver.h>
#include <solv/solvversion.h>
#include <solv/testcase.h>

/* stats are libsolv's SOLV_DEBUG_STATS timings of one solve, in whole ms. */
struct stats {
	int pkg, choice, search;
};

static void stats_callback(Pool *pool, void *data, int type, const char *str)
{
	struct stats *st = data;
	int ms;
	if (sscanf(str, "pkg rule creation took %d ms", &ms) == 1)
		st->pkg += ms;
	else if (sscanf(str, "choice rule creation took %d ms", &ms) == 1)
		st->choice += ms;
	else if (sscanf(str, "solver took %d ms", &ms) == 1)
		st->search += ms;
}

/* explain describes every problem of solv as mamba does to report an
 * unsatisfiable request: all rules involved, each as text. */
static void explain(Solver *solv)
{
	int n = solver_problem_count(solv);
	size_t chars = 0;
	Queue rules;
	queue_init(&rules);
	for (Id p = 1; p <= n; p++) {
		solver_findallproblemrules(solv, p, &rules);
		for (int i = 0; i < rules.count; i++) {
			Id source, target, dep;
			SolverRuleinfo type = solver_ruleinfo(solv, rules.elements[i], &source, &target, &dep);
			chars += strlen(solver_problemruleinfo2str(solv, type, source, target, dep));
		}
	}
	queue_free(&rules);
	if (chars == 0)
		fprintf(stderr, "no problem rules described\n");
}

/* The clock: wall time, or the process's CPU time when the environment
 * has LIBSOLV_BENCH_CLOCK=cpu (steadier on a machine shared with other
 * work). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(bench_clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* conda_support reports whether this libsolv compares versions as conda
 * does, which it does only when built with ENABLE_CONDA: pool_setdisttype
 * accepts DISTTYPE_CONDA either way, but without conda support versions are
 * compared as rpm does, where 1.0a1 is newer than 1.0 (conda: older). */
static int conda_support(void)
{
	Pool *pool = pool_create();
	int ok = pool_setdisttype(pool, DISTTYPE_CONDA) != -1 &&
		 pool_evrcmp_str(pool, "1.0a1", "1.0", EVRCMP_COMPARE) < 0;
	pool_free(pool);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: %s TESTCASE REPS [BUDGET_MS]\n", argv[0]);
		return 2;
	}
	const char *clk = getenv("LIBSOLV_BENCH_CLOCK");
	if (clk && strcmp(clk, "cpu") == 0)
		bench_clock = CLOCK_PROCESS_CPUTIME_ID;
	int reps = atoi(argv[2]);
	double budget = argc == 4 ? atof(argv[3]) : 0, spent = 0;
	printf("libsolv %s conda %s\n", solv_version, conda_support() ? "yes" : "no");

	FILE *fp = fopen(argv[1], "r");
	if (!fp) {
		perror(argv[1]);
		return 2;
	}
	double t0 = now_ms();
	Pool *pool = pool_create();
	Queue job;
	queue_init(&job);
	Solver *solv = testcase_read(pool, fp, argv[1], &job, NULL, NULL);
	fclose(fp);
	if (!solv) {
		fprintf(stderr, "%s: not a valid testcase\n", argv[1]);
		return 2;
	}
	solver_free(solv);
	printf("load_ms %.4f\n", now_ms() - t0);
	printf("solvables %d\n", pool->nsolvables);

	struct stats st;
	pool_setdebugcallback(pool, stats_callback, &st);
	pool_setdebugmask(pool, SOLV_DEBUG_STATS);
	for (int i = 0; i < reps; i++) {
		memset(&st, 0, sizeof(st));
		double s = now_ms();
		solv = solver_create(pool);
		int problems = solver_solve(solv, &job);
		double ms = now_ms() - s;
		printf("solve_ms %.4f %d %d %d\n", ms, st.pkg, st.choice, st.search);
		fflush(stdout);
		spent += ms;
		if (budget > 0 && spent >= budget && i >= 1)
			reps = i + 1;
		if (i == reps - 1) {
			printf("problems %d\n", problems);
			if (problems) {
				double e = now_ms();
				explain(solv);
				printf("explain_ms %.4f\n", now_ms() - e);
			}
			if (!problems) {
				Queue q;
				queue_init(&q);
				solver_get_decisionqueue(solv, &q);
				for (int j = 0; j < q.count; j++) {
					Id p = q.elements[j];
					if (p <= 0 || p == SYSTEMSOLVABLE)
						continue;
					Solvable *sv = pool->solvables + p;
					if (sv->repo == pool->installed)
						continue;
					printf("install %s %s %s\n", pool_id2str(pool, sv->name),
					       pool_id2str(pool, sv->evr), sv->repo->name);
				}
				queue_free(&q);
			}
		}
		solver_free(solv);
	}
	queue_free(&job);
	pool_free(pool);
	return 0;
}
