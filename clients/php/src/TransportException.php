<?php

declare(strict_types=1);

namespace Batchdl;

/** batchdl could not be reached, or did not answer within the timeouts: nothing is known of the request's fate. */
final class TransportException extends BatchdlException
{
}
