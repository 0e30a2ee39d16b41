<?php

declare(strict_types=1);

namespace Batchdl;

/**
 * batchdl answered with an error: its HTTP status, its stable error code
 * (invalid_request, not_found, task_conflict, task_not_finished, ...) and,
 * for a refused request, every problem found: [['path' => '/task_info/3/fn', 'message' => '...'], ...].
 */
final class ApiException extends BatchdlException
{
    /** @param list<array{path: string, message: string}> $details */
    public function __construct(
        public readonly int $httpStatus,
        public readonly string $errorCode,
        string $message,
        public readonly array $details = [],
        public readonly ?int $retryAfterSeconds = null,
    ) {
        parent::__construct($message, $httpStatus);
    }

    /** Builds the exception from an error answer: the service's JSON shape, or whatever a proxy sent. */
    public static function fromResponse(int $status, string $body, ?int $retryAfter = null): self
    {
        $json = json_decode($body, true);
        if (is_array($json) && isset($json['error']) && is_string($json['error'])) {
            $details = isset($json['details']) && is_array($json['details']) ? array_values($json['details']) : [];
            return new self($status, $json['error'], (string) ($json['message'] ?? $json['error']), $details, $retryAfter);
        }
        $text = trim(substr($body, 0, 200));
        return new self($status, "http_$status", "batchdl answered $status" . ($text === '' ? '' : ": $text"), [], $retryAfter);
    }
}
