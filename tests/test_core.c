/* Core: status names, per-thread errors, version, RNG, callbacks, files. */
#include <check.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core_internal.h"
#include "core/file.h"

START_TEST(status_names)
{
    ck_assert_str_eq(sp_status_str(SP_OK), "ok");
    ck_assert_str_eq(sp_status_str(SP_ERR_FORMAT), "bad data format");
    ck_assert_str_eq(sp_status_str(12345), "unknown status");
    ck_assert_int_eq(SP_ERR_INVALID_ARG, -1); /* values are frozen */
    ck_assert_int_eq(SP_ERR_MISUSE, -9);
}
END_TEST

static void *set_error_in_thread(void *arg)
{
    sp__error(SP_ERR_IO, "thread error");
    return (void *)(strcmp(sp_last_error(), "thread error") == 0 ? arg : NULL);
}

START_TEST(last_error_is_per_thread)
{
    sp_clear_error();
    ck_assert_str_eq(sp_last_error(), "");
    ck_assert_int_eq(sp__error(SP_ERR_FORMAT, "main %d", 7), SP_ERR_FORMAT);
    pthread_t t;
    void *result = NULL;
    pthread_create(&t, NULL, set_error_in_thread, (void *)1);
    pthread_join(t, &result);
    ck_assert_ptr_eq(result, (void *)1);
    ck_assert_str_eq(sp_last_error(), "main 7");
}
END_TEST

/* Callers add context to a failure by passing the previous text back in. */
START_TEST(error_can_wrap_the_previous_one)
{
    sp__error(SP_ERR_IO, "cannot read x.spd: %s", "disk full");
    sp__error(SP_ERR_FORMAT, "loading model: %s", sp_last_error());
    ck_assert_str_eq(sp_last_error(), "loading model: cannot read x.spd: disk full");
    /* A previous message near the buffer's size is cut, never overrun. */
    char long_text[600];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    sp__error(SP_ERR_IO, "%s", long_text);
    sp__error(SP_ERR_FORMAT, "outer: %s", sp_last_error());
    const char *wrapped = sp_last_error();
    ck_assert_int_eq(strncmp(wrapped, "outer: aaaa", 11), 0);
    ck_assert_uint_eq(strspn(wrapped + 7, "a"), strlen(wrapped) - 7);
}
END_TEST

START_TEST(version_matches_headers)
{
    ck_assert_uint_eq(sp_version(), SP_VERSION_NUMBER);
    ck_assert_str_eq(sp_version_string(), SP_VERSION_STRING);
    ck_assert(SP_CHECK_VERSION(0, 1, 0));
    ck_assert(!SP_CHECK_VERSION(99, 0, 0));
}
END_TEST

START_TEST(rng_is_reproducible_and_uniform)
{
    sp_rng *a, *b;
    ck_assert_int_eq(sp_rng_create(&a, 42), SP_OK);
    ck_assert_int_eq(sp_rng_create(&b, 42), SP_OK);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(sp_rng_next(a), sp_rng_next(b));
    sp_rng_seed(b, 43);
    ck_assert_uint_ne(sp_rng_next(a), sp_rng_next(b));
    /* Ten buckets of 100,000 draws each lie within 2% of the mean. */
    int counts[10] = { 0 };
    for (int i = 0; i < 1000000; i++)
        counts[sp_rng_below(a, 10)]++;
    for (int i = 0; i < 10; i++)
        ck_assert_int_lt(abs(counts[i] - 100000), 2000);
    double u = sp_rng_uniform(a);
    ck_assert(u >= 0.0 && u < 1.0);
    ck_assert_uint_eq(sp_rng_below(a, 0), 0);
    ck_assert_uint_eq(sp_rng_next(NULL), 0);
    ck_assert_int_eq(sp_rng_create(NULL, 1), SP_ERR_INVALID_ARG);
    ck_assert_int_eq(sp_rng_seed(NULL, 1), SP_ERR_INVALID_ARG);
    sp_rng_free(a);
    sp_rng_free(b);
    sp_rng_free(NULL);
}
END_TEST

static int log_calls;
static void count_log(int level, const char *message, void *payload)
{
    ck_assert_str_eq(message, "hello 3");
    ck_assert_ptr_eq(payload, &log_calls);
    log_calls++;
}

START_TEST(log_callback_filters_levels)
{
    sp__log(SP_LOG_ERROR, "hello %d", 3); /* silent by default */
    sp_set_log_callback(count_log, SP_LOG_INFO, &log_calls);
    sp__log(SP_LOG_INFO, "hello %d", 3);
    sp__log(SP_LOG_DEBUG, "hello %d", 3);
    sp_set_log_callback(NULL, 0, NULL);
    sp__log(SP_LOG_ERROR, "hello %d", 3);
    ck_assert_int_eq(log_calls, 1);
}
END_TEST

static int cancel_at_two(const char *task, uint64_t done, uint64_t total, void *payload)
{
    return done >= 2;
}

START_TEST(progress_callback_can_cancel)
{
    ck_assert_int_eq(sp__progress("x", 5, 10), 0);
    sp_set_progress_callback(cancel_at_two, NULL);
    ck_assert_int_eq(sp__progress("x", 1, 10), 0);
    ck_assert_int_ne(sp__progress("x", 2, 10), 0);
    sp_set_progress_callback(NULL, NULL);
}
END_TEST

START_TEST(atomic_write_and_read)
{
    char dir[] = "/tmp/sp_core_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/f.bin", dir);
    ck_assert_int_eq(sp__file_write_atomic(path, "abc", 3), SP_OK);
    char *data;
    size_t n;
    ck_assert_int_eq(sp__file_read(path, &data, &n), SP_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(data, "abc");
    free(data);
    /* An aborted write leaves the old file and no temporary behind. */
    sp__atomic_file f;
    ck_assert_int_eq(sp__atomic_open(&f, path), SP_OK);
    sp__atomic_write(&f, "zzzz", 4);
    sp__atomic_abort(&f);
    ck_assert_int_eq(sp__file_read(path, &data, &n), SP_OK);
    ck_assert_str_eq(data, "abc");
    free(data);
    ck_assert_int_eq(sp__file_read("/nonexistent/x", &data, &n), SP_ERR_IO);
    ck_assert_int_eq(sp__file_write_atomic("/nonexistent/x", "a", 1), SP_ERR_IO);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* empty: no temporary file left */
}
END_TEST

/* A writer killed before commit leaves its temporary; the next write of the
 * same target removes it, and only it. */
START_TEST(stale_temporaries_are_removed)
{
    char dir[] = "/tmp/sp_core_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], other[256], name[512];
    snprintf(path, sizeof path, "%s/f.spd", dir);
    snprintf(other, sizeof other, "%s/g.spd", dir);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        sp__atomic_file f;
        if (sp__atomic_open(&f, path) == SP_OK && sp__atomic_write(&f, "partial", 7) == SP_OK)
            raise(SIGKILL);
        _exit(1);
    }
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    snprintf(name, sizeof name, "%s.tmp.%ld.", path, (long)child);
    /* The killed writer's temporary is there... */
    glob_t g;
    snprintf(name + strlen(name), sizeof name - strlen(name), "??????");
    ck_assert_int_eq(glob(name, 0, NULL, &g), 0);
    ck_assert_uint_eq(g.gl_pathc, 1);
    char stale[512];
    snprintf(stale, sizeof stale, "%s", g.gl_pathv[0]);
    globfree(&g);
    /* ...beside one of another target by the same dead writer, one being
     * written in this process, and one locked by a writer whose pid is not
     * visible here (another pid namespace). */
    char other_stale[512], locked[512];
    snprintf(other_stale, sizeof other_stale, "%s.tmp.%ld.abcdef", other, (long)child);
    snprintf(locked, sizeof locked, "%s.tmp.%ld.ghijkl", path, (long)child);
    int fd = open(other_stale, O_CREAT | O_WRONLY, 0600);
    close(fd);
    int locked_fd = open(locked, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_eq(flock(locked_fd, LOCK_EX), 0);
    sp__atomic_file live;
    ck_assert_int_eq(sp__atomic_open(&live, path), SP_OK);
    ck_assert_int_eq(access(stale, F_OK), -1); /* the live writer's open removed it */
    ck_assert_int_eq(sp__file_write_atomic(path, "abc", 3), SP_OK);
    ck_assert_int_eq(access(live.temp_path, F_OK), 0);
    ck_assert_int_eq(access(locked, F_OK), 0);
    ck_assert_int_eq(access(other_stale, F_OK), 0);
    ck_assert_int_eq(sp__atomic_write(&live, "xyz", 3), SP_OK);
    ck_assert_int_eq(sp__atomic_commit(&live), SP_OK);
    close(locked_fd);
    /* Unlocked now: the next write of the target removes it too. */
    ck_assert_int_eq(sp__file_write_atomic(path, "def", 3), SP_OK);
    ck_assert_int_eq(access(locked, F_OK), -1);
    unlink(other_stale);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(crc32_known_value)
{
    /* The standard check value of CRC-32/ISO-HDLC. */
    ck_assert_uint_eq(sp__crc32(0, "123456789", 9), 0xcbf43926u);
    uint32_t c = sp__crc32(0, "1234", 4);
    ck_assert_uint_eq(sp__crc32(c, "56789", 5), 0xcbf43926u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, status_names);
    tcase_add_test(tc, last_error_is_per_thread);
    tcase_add_test(tc, error_can_wrap_the_previous_one);
    tcase_add_test(tc, version_matches_headers);
    tcase_add_test(tc, rng_is_reproducible_and_uniform);
    tcase_add_test(tc, log_callback_filters_levels);
    tcase_add_test(tc, progress_callback_can_cancel);
    tcase_add_test(tc, atomic_write_and_read);
    tcase_add_test(tc, stale_temporaries_are_removed);
    tcase_add_test(tc, crc32_known_value);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
