<?php

declare(strict_types=1);

/**
 * The package's tests, with plain assertions: php tests/run.php.
 * Offline ones always run. Against a live service when these are set (the
 * project's suite, test/php.test.ts, sets them): BATCHDL_URL, ORIGIN_URL (the
 * test origin), REDIS_HOST, REDIS_PORT, REPLY_PREFIX, SILENT_URL (a server
 * that never answers), LIST_URL (a server answering GET /tasks as the SPEC says).
 * Prints "ok - name" or "not ok - name: why" per test; exits 1 on a failure.
 */

require is_file(__DIR__ . '/../vendor/autoload.php') ? __DIR__ . '/../vendor/autoload.php' : __DIR__ . '/autoload.php';

use Batchdl\ApiException;
use Batchdl\Client;
use Batchdl\TransportException;
use Batchdl\Webhook;

$failures = 0;
function test(string $name, callable $body): void
{
    global $failures;
    try {
        $body();
        echo "ok - $name\n";
    } catch (Throwable $e) {
        $failures++;
        echo "not ok - $name: " . get_class($e) . ': ' . $e->getMessage() . "\n";
    }
}
function check(bool $condition, string $what): void
{
    if (!$condition) {
        throw new RuntimeException("expected $what");
    }
}
/** Runs $call and returns what it threw, failing when it throws nothing or something else. */
function thrown(string $class, callable $call): Throwable
{
    try {
        $call();
    } catch (Throwable $e) {
        check($e instanceof $class, "$class, got " . get_class($e) . ': ' . $e->getMessage());
        return $e;
    }
    throw new RuntimeException("expected $class, nothing was thrown");
}

$secret = 'whsec-test-0123456789';
$body = '{"event":"task.ended","task_id":"a1","state":"completed"}';
$now = 1_800_000_000;
$sign = static fn (int $t, string $b, string $s = 'whsec-test-0123456789') => "t=$t,v1=" . hash_hmac('sha256', "$t.$b", $s);

test('verifyWebhook accepts a valid signature, and one among several v1 values', function () use ($secret, $body, $now, $sign) {
    check(Webhook::verify($body, $sign($now, $body), $secret, 300, $now), 'a valid signature to verify');
    check(Webhook::verify($body, "t=$now,v1=00ff," . substr($sign($now, $body), strlen("t=$now,")), $secret, 300, $now), 'any matching v1 to do');
    check(Client::verifyWebhook($body, $sign(time(), $body), $secret, 300), 'Client::verifyWebhook to verify now');
});

test('verifyWebhook refuses a changed body, another secret, an old or future t, a malformed header', function () use ($secret, $body, $now, $sign) {
    check(!Webhook::verify($body . ' ', $sign($now, $body), $secret, 300, $now), 'a changed body refused');
    check(!Webhook::verify($body, $sign($now, $body, 'another-secret'), $secret, 300, $now), 'another secret refused');
    check(!Webhook::verify($body, $sign($now - 301, $body), $secret, 300, $now), 'a replay after the tolerance refused');
    check(!Webhook::verify($body, $sign($now + 301, $body), $secret, 300, $now), 'a t from the future refused');
    check(!Webhook::verify($body, 'v1=' . hash_hmac('sha256', $body, $secret), $secret, 300, $now), 'no t refused');
    check(!Webhook::verify($body, '', $secret, 300, $now), 'an empty header refused');
    check(!Webhook::verify($body, "t=$now,v0=" . hash_hmac('sha256', "$now.$body", $secret), $secret, 300, $now), 'an unknown scheme refused');
});

test('ApiException carries the status, the code and every detail', function () {
    $e = ApiException::fromResponse(400, '{"error":"invalid_request","message":"bad","details":[{"path":"/task_info/0/fn","message":"fn must not be empty"}]}');
    check($e->httpStatus === 400 && $e->errorCode === 'invalid_request' && $e->getMessage() === 'bad', 'status, code and message');
    check($e->details === [['path' => '/task_info/0/fn', 'message' => 'fn must not be empty']], 'the details');
    $proxy = ApiException::fromResponse(502, '<html>Bad Gateway</html>');
    check($proxy->errorCode === 'http_502' && $proxy->details === [], 'a non-JSON answer as http_502');
});

$base = getenv('BATCHDL_URL') ?: null;
if ($base !== null) {
    $origin = rtrim((string) getenv('ORIGIN_URL'), '/');
    $file = static fn (string $name, string $query = '') => "$origin/f/$name" . ($query === '' ? '' : "?$query");
    $client = new Client($base, getenv('BATCHDL_API_KEY') ?: null, ['reply_prefix' => getenv('REPLY_PREFIX') ?: 'batch_download_resp']);
    $redis = new Redis();
    $redis->connect(getenv('REDIS_HOST') ?: '127.0.0.1', (int) (getenv('REDIS_PORT') ?: 6379));
    $run = 'p' . bin2hex(random_bytes(4));

    test('submit with a priority, status, and a resubmit that is the same task', function () use ($client, $file, $run) {
        $files = [['fn' => 'a.bin', 'url' => $file("$run-a.bin", 'size=3000')]];
        $task = $client->submit("$run-1", $files, ['priority' => 'high']);
        check($task['task_id'] === "$run-1" && $task['files'] === 1, 'the accepted task');
        $final = $client->waitByPolling("$run-1", 30, 0.1);
        check($final['state'] === 'completed' && $final['priority'] === 'high', 'completed, priority high');
        check($client->submit("$run-1", $files)['task_id'] === "$run-1", 'a resubmit answered with the task');
    });

    test('a refused submit is an ApiException listing every problem', function () use ($client, $file) {
        $e = thrown(ApiException::class, fn () => $client->submit(null, [['url' => $file('x')], ['fn' => 'b', 'url' => 'ftp://x/y']]));
        check($e->httpStatus === 400 && $e->errorCode === 'invalid_request', '400 invalid_request');
        $paths = array_column($e->details, 'path');
        check(in_array('/task_info/0/fn', $paths, true) && in_array('/task_info/1/url', $paths, true), 'both problems, got ' . json_encode($paths));
    });

    test('status of an unknown task is a 404 ApiException', function () use ($client, $run) {
        $e = thrown(ApiException::class, fn () => $client->status("$run-nothing"));
        check($e->httpStatus === 404 && $e->errorCode === 'not_found', '404 not_found');
    });

    test('cancel stops a running task (a bodiless DELETE)', function () use ($client, $file, $run) {
        $client->submit("$run-c", [['fn' => 'slow.bin', 'url' => $file("$run-slow.bin", 'size=2000000&rate=100000')]]);
        $deadline = microtime(true) + 10;
        while ($client->status("$run-c", 'none')['state'] !== 'running' && microtime(true) < $deadline) {
            usleep(50_000);
        }
        $client->cancel("$run-c");
        check($client->waitByPolling("$run-c", 10, 0.1)['state'] === 'cancelled', 'cancelled');
    });

    test('retry runs the failed file again: the reply list says start, its fn, end once more', function () use ($client, $file, $run, $redis) {
        $client->submit("$run-r", [['fn' => 'ok.bin', 'url' => $file("$run-ok.bin")], ['fn' => 'gone.bin', 'url' => $file("$run-gone.bin", 'status=404')]]);
        $first = $client->waitForEnd($redis, "$run-r", 30);
        check(count($first) === 4, 'start, two files, end');
        $e = thrown(ApiException::class, fn () => $client->retry("$run-1"));
        check($e->httpStatus === 409 && $e->errorCode === 'nothing_to_retry', '409 nothing_to_retry for a completed task');
        $client->retry("$run-r");
        check($client->waitForEnd($redis, "$run-r", 30) === ['start', 'gone.bin', 'end'], 'the retried file only');
        check($client->status("$run-r")['state'] === 'partial', 'partial again');
    });

    test('streamArchive refuses an unfinished task before writing anything, then streams the zip', function () use ($client, $file, $run) {
        $zip = sys_get_temp_dir() . "/$run.zip";
        $client->submit("$run-z", [['fn' => 'z.bin', 'url' => $file("$run-z.bin", 'size=400000&rate=400000')]]);
        $e = thrown(ApiException::class, fn () => $client->streamArchive("$run-z", $zip, false));
        check($e->httpStatus === 409 && !file_exists($zip), '409 and no file written');
        $client->waitByPolling("$run-z", 30, 0.1);
        $bytes = $client->streamArchive("$run-z", $zip, false);
        $archive = new ZipArchive();
        check($archive->open($zip) === true && $archive->numFiles === 1 && strlen((string) $archive->getFromName('z.bin')) === 400000, "a zip with z.bin ($bytes bytes)");
        $archive->close();
        unlink($zip);
    });

    test('purge removes the task: its status is a 404 then', function () use ($client, $run) {
        $client->purge("$run-z");
        $e = thrown(ApiException::class, fn () => $client->status("$run-z"));
        check($e->httpStatus === 404, '404 after the purge');
    });

    test('a server that does not answer is a TransportException within the total timeout', function () {
        $silent = new Client((string) getenv('SILENT_URL'), null, ['connect_timeout' => 1, 'timeout' => 0.5]);
        $started = microtime(true);
        thrown(TransportException::class, fn () => $silent->status('x'));
        check(microtime(true) - $started < 5, 'given up after the timeout');
    });

    test('list pages through the live task list, newest first, with each task\'s priority', function () use ($client, $run) {
        $first = $client->list(['completed', 'partial'], 1);
        check(count($first['tasks']) === 1 && is_string($first['next_cursor']), 'one task and a cursor');
        $second = $client->list(['completed', 'partial'], 1, $first['next_cursor']);
        check($second['tasks'][0]['task_id'] !== $first['tasks'][0]['task_id'], 'the next page goes on');
        $mine = array_column($client->list([], 200)['tasks'], 'priority', 'task_id');
        check(($mine["$run-1"] ?? null) === 'high' && ($mine["$run-r"] ?? null) === 'normal', 'the tasks of this run with their priority');
    });

    test('list asks GET /tasks with the states, limit and cursor, and no JSON content type', function () {
        $answer = (new Client((string) getenv('LIST_URL')))->list(['running', 'queued'], 2, 'c1');
        check($answer['tasks'][0]['task_id'] === 't1' && $answer['next_cursor'] === 'c2', 'the page');
        check($answer['seen']['query'] === 'state=running%2Cqueued&limit=2&cursor=c1', 'the query, got ' . $answer['seen']['query']);
        check($answer['seen']['content_type'] === null, 'no content type on a bodiless request');
    });
}

exit($failures > 0 ? 1 : 0);
