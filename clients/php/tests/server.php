<?php

declare(strict_types=1);

/**
 * A PHP backend in miniature, for `php -S 127.0.0.1:PORT tests/server.php`:
 *   POST /hook               a webhook receiver: verifies the signature, appends
 *                            what it got to HOOK_LOG (JSON lines), 204 or 400
 *   GET  /download?task=ID   streams the task's zip to the browser, or answers
 *                            the ApiException's status when there is none
 * Environment: BATCHDL_URL, WEBHOOK_SECRET, HOOK_LOG.
 */

require is_file(__DIR__ . '/../vendor/autoload.php') ? __DIR__ . '/../vendor/autoload.php' : __DIR__ . '/autoload.php';

use Batchdl\ApiException;
use Batchdl\Client;
use Batchdl\Webhook;

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);

if ($path === '/hook' && $_SERVER['REQUEST_METHOD'] === 'POST') {
    $raw = (string) file_get_contents('php://input');
    $signature = $_SERVER['HTTP_BATCHDL_SIGNATURE'] ?? '';
    $event = Webhook::parse($raw, $signature, (string) getenv('WEBHOOK_SECRET'), 300);
    file_put_contents((string) getenv('HOOK_LOG'), json_encode([
        'delivery' => $_SERVER['HTTP_BATCHDL_DELIVERY'] ?? null,
        'verified' => $event !== null,
        'event' => $event,
    ], JSON_UNESCAPED_SLASHES) . "\n", FILE_APPEND | LOCK_EX);
    http_response_code($event !== null ? 204 : 400);
    return;
}

if ($path === '/download') {
    $client = new Client((string) getenv('BATCHDL_URL'));
    try {
        $client->streamArchive((string) ($_GET['task'] ?? ''));
    } catch (ApiException $e) {
        http_response_code($e->httpStatus);
        header('Content-Type: application/json');
        echo json_encode(['error' => $e->errorCode, 'message' => $e->getMessage()]);
    }
    return;
}

http_response_code(404);
