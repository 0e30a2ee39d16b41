<?php

declare(strict_types=1);

// What Composer's autoloader does for this package (PSR-4, Batchdl\ => src/),
// so that the tests and examples run from a checkout without Composer.
spl_autoload_register(static function (string $class): void {
    $prefix = 'Batchdl\\';
    if (str_starts_with($class, $prefix)) {
        $file = __DIR__ . '/../src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
