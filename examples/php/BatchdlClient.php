<?php
/**
 * A small client for batchdl, to copy into a PHP backend.
 *
 * Needs the curl extension; waiting on the reply list needs phpredis.
 *
 *   $client = new BatchdlClient('http://127.0.0.1:3000', getenv('BATCHDL_API_KEY') ?: null);
 *   $task = $client->submit('a1b2c3', [['fn' => 'cat', 'url' => 'https://oss.example.com/a/cat.jpg?Signature=...']]);
 *   $client->waitForEnd($redis, 'a1b2c3');         // or: $client->waitByPolling('a1b2c3');
 *   $client->streamArchive('a1b2c3');              // the zip, straight to the browser
 */
final class BatchdlClient
{
    public function __construct(
        private string $baseUrl,
        private ?string $apiKey = null,
        private string $replyPrefix = 'batch_download_resp',
    ) {
        $this->baseUrl = rtrim($baseUrl, '/');
    }

    /**
     * Submits the same array the seed pushed onto batch_download_tasks.
     * Returns the answer: task_id, state, status_url, events_url (hand it to
     * the browser's EventSource), archive_url. A resubmit of the same task is
     * harmless (200); the same id with other files throws (409).
     */
    public function submit(string $taskId, array $files): array
    {
        [$status, $body] = $this->request('POST', '/tasks', ['task_id' => $taskId, 'task_info' => $files]);
        if ($status !== 202 && $status !== 200) {
            throw new RuntimeException("batchdl refused the task ($status): " . ($body['message'] ?? 'no answer'));
        }
        return $body;
    }

    public function status(string $taskId): array
    {
        [$status, $body] = $this->request('GET', '/tasks/' . rawurlencode($taskId));
        if ($status !== 200) {
            throw new RuntimeException("no status for $taskId ($status)");
        }
        return $body;
    }

    /** Polls GET /tasks/:id until the task has ended; returns its final status. */
    public function waitByPolling(string $taskId, int $timeoutSeconds = 3600, float $everySeconds = 0.5): array
    {
        $deadline = microtime(true) + $timeoutSeconds;
        do {
            $status = $this->status($taskId);
            if (!in_array($status['state'], ['queued', 'running'], true)) {
                return $status;
            }
            usleep((int) ($everySeconds * 1e6));
        } while (microtime(true) < $deadline);
        throw new RuntimeException("task $taskId did not end within $timeoutSeconds s");
    }

    /**
     * Reads the reply list as the seed's PHP code did: "start", one message per
     * file (its fn), then "end". Returns the messages in order.
     */
    public function waitForEnd(Redis $redis, string $taskId, int $timeoutSeconds = 3600): array
    {
        $key = $this->replyPrefix . '_' . $taskId;
        $messages = [];
        $deadline = time() + $timeoutSeconds;
        while (end($messages) !== 'end') {
            $left = $deadline - time();
            if ($left <= 0) {
                throw new RuntimeException("no end on $key within $timeoutSeconds s");
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
     * no temporary file, no zipping in PHP.
     */
    public function streamArchive(string $taskId, string $out = 'php://output', bool $sendHeaders = true): int
    {
        if ($sendHeaders && $out === 'php://output') {
            header('Content-Type: application/zip');
            header('Content-Disposition: attachment; filename="' . $taskId . '.zip"');
        }
        $sink = fopen($out, 'wb');
        $ch = curl_init($this->baseUrl . '/tasks/' . rawurlencode($taskId) . '/archive');
        curl_setopt_array($ch, [
            CURLOPT_HTTPHEADER => $this->headers(),
            CURLOPT_FAILONERROR => true,
            CURLOPT_WRITEFUNCTION => fn ($ch, string $chunk) => fwrite($sink, $chunk),
        ]);
        $ok = curl_exec($ch);
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $bytes = (int) curl_getinfo($ch, CURLINFO_SIZE_DOWNLOAD);
        curl_close($ch);
        fclose($sink);
        if ($ok === false) {
            throw new RuntimeException("archive of $taskId failed ($status)");
        }
        return $bytes;
    }

    /** The seed's way, still understood when the service runs with LEGACY_TASK_QUEUE. */
    public static function legacyPush(Redis $redis, string $taskId, array $files, string $queue = 'batch_download_tasks'): void
    {
        $redis->lPush($queue, json_encode(['task_id' => $taskId, 'task_info' => $files], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
    }

    private function headers(): array
    {
        $headers = ['Content-Type: application/json', 'Accept: application/json'];
        if ($this->apiKey !== null) {
            $headers[] = 'Authorization: Bearer ' . $this->apiKey;
        }
        return $headers;
    }

    private function request(string $method, string $path, ?array $json = null): array
    {
        $ch = curl_init($this->baseUrl . $path);
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $this->headers(),
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => 30,
        ]);
        if ($json !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($json, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE));
        }
        $raw = curl_exec($ch);
        if ($raw === false) {
            $error = curl_error($ch);
            curl_close($ch);
            throw new RuntimeException("batchdl unreachable: $error");
        }
        $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        return [$status, json_decode($raw, true) ?? []];
    }
}
