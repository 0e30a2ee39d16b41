<?php

declare(strict_types=1);

namespace Batchdl;

/**
 * The batchdl API from PHP (curl; phpredis only for the legacy reply list).
 *
 *   $client = new Client('http://127.0.0.1:3000', getenv('BATCHDL_API_KEY') ?: null);
 *   $task = $client->submit('a1b2c3', [['fn' => 'cat', 'url' => 'https://oss.example.com/a/cat.jpg?Signature=...']]);
 *   $client->waitForEnd($redis, 'a1b2c3');      // or: $client->waitByPolling('a1b2c3')
 *   $client->streamArchive('a1b2c3');           // the zip, straight to the browser
 *
 * Every error answer throws ApiException (status, code, details); no answer
 * at all (unreachable, timeout) throws TransportException.
 */
final class Client
{
    private const ENDED = ['completed', 'partial', 'failed', 'cancelled'];

    private string $baseUrl;
    private string $replyPrefix;
    private int $connectTimeoutMs;
    private int $timeoutMs;
    private int $archiveTimeoutMs;

    /**
     * @param array{reply_prefix?: string, connect_timeout?: float, timeout?: float, archive_timeout?: float} $options
     *   seconds; archive_timeout 0 (the default) lets a large zip take as long as it takes
     */
    public function __construct(string $baseUrl, private ?string $apiKey = null, array $options = [])
    {
        $this->baseUrl = rtrim($baseUrl, '/');
        $this->replyPrefix = $options['reply_prefix'] ?? 'batch_download_resp';
        $this->connectTimeoutMs = (int) (($options['connect_timeout'] ?? 5) * 1000);
        $this->timeoutMs = (int) (($options['timeout'] ?? 30) * 1000);
        $this->archiveTimeoutMs = (int) (($options['archive_timeout'] ?? 0) * 1000);
    }

    /**
     * Submits the same array the seed pushed onto batch_download_tasks. A
     * resubmit of the same task is harmless (the existing task); the same id
     * with other files is an ApiException (409 task_conflict).
     *
     * Request headers (task's or a file's) go as a non-empty array of
     * name => value: an empty PHP array would be sent as a JSON list.
     *
     * @param list<array{fn: string, url: string, sha256?: string, headers?: array<string, string>, mirrors?: list<string>}> $files
     * @param array{priority?: 'high'|'normal'|'low', callback_url?: string, headers?: array<string, string>, max_bytes_per_second?: int} $options
     * @return array{task_id: string, state: string, files: int, status_url: string, events_url: string, archive_url: string}
     */
    public function submit(?string $taskId, array $files, array $options = []): array
    {
        $body = ['task_info' => $files] + $options;
        if ($taskId !== null) {
            $body = ['task_id' => $taskId] + $body;
        }
        return $this->request('POST', '/tasks', $body);
    }

    /** GET /tasks/:id; $files is all, active, failed or none. */
    public function status(string $taskId, string $files = 'all'): array
    {
        return $this->request('GET', $this->taskPath($taskId) . ($files === 'all' ? '' : '?files=' . rawurlencode($files)));
    }

    /**
     * The task list, newest first: ['tasks' => [...], 'next_cursor' => ?string].
     *
     * @param list<string> $states e.g. ['running', 'queued']; empty: every state
     */
    public function list(array $states = [], int $limit = 50, ?string $cursor = null): array
    {
        $query = array_filter(
            ['state' => implode(',', $states), 'limit' => (string) $limit, 'cursor' => $cursor ?? ''],
            static fn (string $v) => $v !== '',
        );
        return $this->request('GET', '/tasks?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986));
    }

    /** Cancels: a queued task at once, a running one within a second. Returns its status. */
    public function cancel(string $taskId): array
    {
        return $this->request('DELETE', $this->taskPath($taskId));
    }

    /** Runs the failed and cancelled files of an ended task again (409 while it runs). */
    public function retry(string $taskId): array
    {
        return $this->request('POST', $this->taskPath($taskId) . '/retry');
    }

    /** Removes an ended task's files and state at once. */
    public function purge(string $taskId): void
    {
        $this->request('DELETE', $this->taskPath($taskId) . '?purge=1');
    }

    /** Polls GET /tasks/:id until the task has ended; returns its final status. */
    public function waitByPolling(string $taskId, int $timeoutSeconds = 3600, float $everySeconds = 0.5): array
    {
        $deadline = microtime(true) + $timeoutSeconds;
        do {
            $status = $this->status($taskId, 'none');
            if (in_array($status['state'], self::ENDED, true)) {
                return $this->status($taskId);
            }
            usleep((int) ($everySeconds * 1e6));
        } while (microtime(true) < $deadline);
        throw new BatchdlException("task $taskId did not end within $timeoutSeconds s");
    }

    /**
     * Reads the reply list as the seed's PHP code did: "start", one message
     * per file (its fn), then "end". Returns the messages in order.
     *
     * @return list<string>
     */
    public function waitForEnd(\Redis $redis, string $taskId, int $timeoutSeconds = 3600): array
    {
        $key = $this->replyPrefix . '_' . $taskId;
        $messages = [];
        $deadline = time() + $timeoutSeconds;
        while (end($messages) !== 'end') {
            $left = $deadline - time();
            if ($left <= 0) {
                throw new BatchdlException("no end on $key within $timeoutSeconds s");
            }
            $item = $redis->brPop([$key], min($left, 30));
            if ($item) {
                $messages[] = $item[1];
            }
        }
        return $messages;
    }

    /**
     * Streams the task's zip to $out (the browser by default) as it arrives:
     * no temporary file, no zipping in PHP. The task's state is checked first
     * and the zip headers go out only with the zip's first bytes, so an error
     * (unknown or unfinished task) is an ApiException the caller can still
     * answer properly. Returns the bytes written.
     */
    public function streamArchive(string $taskId, string $out = 'php://output', bool $sendHeaders = true): int
    {
        $state = $this->status($taskId, 'none')['state'];
        if (!in_array($state, self::ENDED, true)) {
            throw new ApiException(409, 'task_not_finished', "task $taskId is $state: its zip is ready once it has ended");
        }
        $sink = null;
        $status = 0;
        $error = '';
        $ch = $this->curl('GET', $this->taskPath($taskId) . '/archive', null, $this->archiveTimeoutMs);
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, false);
        curl_setopt($ch, CURLOPT_HEADERFUNCTION, static function ($ch, string $line) use (&$status): int {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                $status = (int) $m[1];
            }
            return strlen($line);
        });
        curl_setopt($ch, CURLOPT_WRITEFUNCTION, function ($ch, string $chunk) use (&$sink, &$status, &$error, $out, $sendHeaders, $taskId): int {
            if ($status !== 200) {
                $error .= $chunk;
                return strlen($chunk);
            }
            if ($sink === null) {
                if ($sendHeaders && $out === 'php://output' && !headers_sent()) {
                    header('Content-Type: application/zip');
                    header('Content-Disposition: attachment; filename="' . addcslashes($taskId, '"\\') . '.zip"');
                }
                $sink = fopen($out, 'wb');
            }
            return (int) fwrite($sink, $chunk);
        });
        $ok = curl_exec($ch);
        $bytes = (int) curl_getinfo($ch, CURLINFO_SIZE_DOWNLOAD);
        $curlError = curl_error($ch);
        curl_close($ch);
        if ($sink !== null) {
            fclose($sink);
        }
        if ($status !== 0 && $status !== 200) {
            throw ApiException::fromResponse($status, $error);
        }
        if ($ok === false) {
            throw new TransportException("archive of $taskId broke off: $curlError");
        }
        return $bytes;
    }

    /** Verifies a webhook request; see Webhook::verify. */
    public static function verifyWebhook(string $rawBody, string $signatureHeader, string $secret, int $toleranceSeconds = 300): bool
    {
        return Webhook::verify($rawBody, $signatureHeader, $secret, $toleranceSeconds);
    }

    /** The seed's way, still understood when the service runs with LEGACY_TASK_QUEUE. */
    public static function legacyPush(\Redis $redis, string $taskId, array $files, string $queue = 'batch_download_tasks'): void
    {
        $redis->lPush($queue, json_encode(['task_id' => $taskId, 'task_info' => $files], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR));
    }

    private function taskPath(string $taskId): string
    {
        return '/tasks/' . rawurlencode($taskId);
    }

    /** A curl handle with the key, the timeouts, and a JSON content type only when there is a JSON body. */
    private function curl(string $method, string $path, ?array $json, int $timeoutMs): \CurlHandle
    {
        $headers = ['Accept: application/json'];
        if ($this->apiKey !== null) {
            $headers[] = 'Authorization: Bearer ' . $this->apiKey;
        }
        $ch = curl_init($this->baseUrl . $path);
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CONNECTTIMEOUT_MS => $this->connectTimeoutMs,
            CURLOPT_TIMEOUT_MS => $timeoutMs,
        ]);
        if ($json !== null) {
            $headers[] = 'Content-Type: application/json';
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($json, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR));
        }
        curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
        return $ch;
    }

    private function request(string $method, string $path, ?array $json = null): array
    {
        $ch = $this->curl($method, $path, $json, $this->timeoutMs);
        $retryAfter = null;
        curl_setopt($ch, CURLOPT_HEADERFUNCTION, static function ($ch, string $line) use (&$retryAfter): int {
            if (preg_match('/^retry-after:\s*(\d+)/i', $line, $m)) {
                $retryAfter = (int) $m[1];
            }
            return strlen($line);
        });
        $raw = curl_exec($ch);
        if ($raw === false) {
            $error = curl_error($ch);
            curl_close($ch);
            throw new TransportException("batchdl did not answer $method $path: $error");
        }
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        if ($status < 200 || $status >= 300) {
            throw ApiException::fromResponse($status, (string) $raw, $retryAfter);
        }
        if ($status === 204 || $raw === '') {
            return [];
        }
        $body = json_decode((string) $raw, true);
        if (!is_array($body)) {
            throw new ApiException($status, 'bad_answer', "batchdl answered $method $path with something that is not JSON");
        }
        return $body;
    }
}
