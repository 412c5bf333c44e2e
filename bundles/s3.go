package bundles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Config locates a bucket. Credentials not given here come from the AWS SDK's usual
// chain (AWS_ACCESS_KEY_ID and friends, shared config, instance roles).
type S3Config struct {
	// Endpoint overrides the service URL, for S3-compatible servers (MinIO, R2, ...).
	Endpoint string
	// Region is the bucket's region; "" means the SDK's default, else us-east-1.
	Region string
	// Bucket holds the bundles.
	Bucket string
	// Prefix is prepended to every key ("bundles/" gives bundles/<sha256>).
	Prefix string
	// PathStyle addresses the bucket as ENDPOINT/BUCKET instead of BUCKET.ENDPOINT.
	PathStyle bool
	// AccessKeyID and SecretAccessKey, when both set, are used instead of the chain.
	AccessKeyID, SecretAccessKey string
	// HTTPClient overrides the SDK's HTTP client.
	HTTPClient *http.Client
}

// S3 keeps bundles as objects PREFIX<sha256> in a bucket.
type S3 struct {
	c      *s3.Client
	bucket string
	prefix string
}

// NewS3 returns an S3 store. It does not contact the server.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("bundles: S3 bucket is required")
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" && cfg.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("bundles: S3 configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// The store verifies sha256 itself; the SDK's default CRC trailers are not
		// understood by every S3-compatible server.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

func (s *S3) key(sha string) string {
	if s.prefix == "" {
		return sha
	}
	return path.Join(s.prefix, sha)
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, data []byte) (string, error) {
	sha := Hash(data)
	key := s.key(sha)
	if _, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key}); err == nil {
		return sha, nil
	} else if !isNotFound(err) {
		return "", fmt.Errorf("bundles: S3 head %s: %w", key, err)
	}
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("application/javascript"),
		Metadata:      map[string]string{"sha256": sha},
	})
	if err != nil {
		return "", fmt.Errorf("bundles: S3 put %s: %w", key, err)
	}
	return sha, nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, sha string) ([]byte, error) {
	if err := checkSHA(sha); err != nil {
		return nil, err
	}
	key := s.key(sha)
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if isNotFound(err) {
		return nil, fmt.Errorf("bundles: %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("bundles: S3 get %s: %w", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("bundles: S3 read %s: %w", key, err)
	}
	return verify(sha, data)
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")
}
