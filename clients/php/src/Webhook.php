<?php

declare(strict_types=1);

namespace Batchdl;

/**
 * Verifies a batchdl webhook: the batchdl-signature header is
 * "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">". A request whose
 * t is older (or newer) than the tolerance is refused, so a captured delivery
 * cannot be replayed later. Use the raw body (file_get_contents('php://input')),
 * never a re-encoded one.
 */
final class Webhook
{
    public const SIGNATURE_HEADER = 'batchdl-signature';
    public const DELIVERY_HEADER = 'batchdl-delivery';

    public static function verify(string $rawBody, string $signatureHeader, string $secret, int $toleranceSeconds = 300, ?int $now = null): bool
    {
        $t = null;
        $signatures = [];
        foreach (explode(',', $signatureHeader) as $part) {
            [$key, $value] = array_map('trim', explode('=', $part, 2)) + [1 => ''];
            if ($key === 't' && ctype_digit($value)) {
                $t = (int) $value;
            } elseif ($key === 'v1' && $value !== '') {
                $signatures[] = strtolower($value);
            }
        }
        if ($t === null || abs(($now ?? time()) - $t) > $toleranceSeconds) {
            return false;
        }
        $expected = hash_hmac('sha256', $t . '.' . $rawBody, $secret);
        foreach ($signatures as $signature) {
            if (hash_equals($expected, $signature)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The event of a verified request, or null when it does not verify:
     * ['event' => 'task.ended', 'task_id' => ..., 'state' => ..., 'totals' => [...], ...].
     * A delivery may come more than once: deduplicate by $deliveryId.
     *
     * @return array<string, mixed>|null
     */
    public static function parse(string $rawBody, string $signatureHeader, string $secret, int $toleranceSeconds = 300): ?array
    {
        if (!self::verify($rawBody, $signatureHeader, $secret, $toleranceSeconds)) {
            return null;
        }
        $event = json_decode($rawBody, true);
        return is_array($event) ? $event : null;
    }
}
