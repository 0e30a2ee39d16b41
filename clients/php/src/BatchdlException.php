<?php

declare(strict_types=1);

namespace Batchdl;

/** Whatever goes wrong talking to batchdl: catch this to catch everything the client throws. */
class BatchdlException extends \RuntimeException
{
}
