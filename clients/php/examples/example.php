<?php

declare(strict_types=1);

/**
 * Runs the three ways a PHP backend uses batchdl, end to end, and prints a
 * JSON summary (the test suite runs it against a real service):
 *
 *   php example.php post   <base-url> <task-id> <files.json> <archive.zip>   POST, then BRPOP the reply list, then the zip
 *   php example.php poll   <base-url> <task-id> <files.json> <archive.zip>   POST, then poll GET /tasks/:id, then the zip
 *   php example.php legacy <base-url> <task-id> <files.json> <archive.zip>   LPUSH onto the seed's list, then BRPOP
 *
 * Environment: BATCHDL_API_KEY, REDIS_HOST, REDIS_PORT, REPLY_PREFIX, LEGACY_QUEUE.
 */
// In an application: require 'vendor/autoload.php' (composer require batchdl/client).
require is_file(__DIR__ . '/../vendor/autoload.php') ? __DIR__ . '/../vendor/autoload.php' : __DIR__ . '/../tests/autoload.php';

use Batchdl\Client;

[, $mode, $base, $taskId, $filesJson, $zipPath] = $argv + array_fill(0, 6, null);
$files = json_decode(file_get_contents($filesJson), true);
$client = new Client($base, getenv('BATCHDL_API_KEY') ?: null, ['reply_prefix' => getenv('REPLY_PREFIX') ?: 'batch_download_resp']);
$redis = new Redis();
$redis->connect(getenv('REDIS_HOST') ?: '127.0.0.1', (int) (getenv('REDIS_PORT') ?: 6379));

$summary = ['mode' => $mode];
switch ($mode) {
    case 'post':
        $summary['accepted'] = $client->submit($taskId, $files);
        $summary['messages'] = $client->waitForEnd($redis, $taskId, 120);
        break;
    case 'poll':
        $summary['accepted'] = $client->submit($taskId, $files);
        $summary['final'] = $client->waitByPolling($taskId, 120, 0.2)['state'];
        break;
    case 'legacy':
        Client::legacyPush($redis, $taskId, $files, getenv('LEGACY_QUEUE') ?: 'batch_download_tasks');
        $summary['messages'] = $client->waitForEnd($redis, $taskId, 120);
        break;
    default:
        fwrite(STDERR, "mode: post, poll or legacy\n");
        exit(2);
}
$summary['state'] = $client->status($taskId)['state'];
$summary['archive_bytes'] = $client->streamArchive($taskId, $zipPath, false);

// Open the zip as a PHP backend would, and fingerprint every entry.
$zip = new ZipArchive();
if ($zip->open($zipPath) !== true) {
    fwrite(STDERR, "ZipArchive cannot open $zipPath\n");
    exit(1);
}
$entries = [];
for ($i = 0; $i < $zip->numFiles; $i++) {
    $name = $zip->getNameIndex($i);
    $entries[$name] = hash('sha256', $zip->getFromIndex($i));
}
$zip->close();
$summary['entries'] = $entries;
echo json_encode($summary, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
