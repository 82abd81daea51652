package demo

import (
	"time"

	"github.com/couponpop/couponpop/internal/auth"
)

// Password is every demo account's password (letters and digits, as the
// signup policy wants). The accounts exist only on local and demo
// databases; README.md prints them.
const Password = "demo1234"

// Account is a demo login.
type Account struct {
	Email    string
	Nickname string
	Role     auth.Role
}

// Owners run the demo stores; Owners[i] owns the stores whose Owner is i.
var Owners = []Account{
	{"owner1@demo.couponpop.dev", "홍대·명동 사장님", auth.Owner},
	{"owner2@demo.couponpop.dev", "강남 사장님", auth.Owner},
	{"owner3@demo.couponpop.dev", "잠실·성수 사장님", auth.Owner},
}

// Customer is the demo customer: log in as them to take coupons.
var Customer = Account{"customer@demo.couponpop.dev", "데모 손님", auth.Customer}

// crowd are the customers who already took every coupon of the sold-out
// events (as many as the largest sold-out quantity).
var crowd = []Account{
	{"crowd1@demo.couponpop.dev", "손님1", auth.Customer},
	{"crowd2@demo.couponpop.dev", "손님2", auth.Customer},
	{"crowd3@demo.couponpop.dev", "손님3", auth.Customer},
	{"crowd4@demo.couponpop.dev", "손님4", auth.Customer},
	{"crowd5@demo.couponpop.dev", "손님5", auth.Customer},
}

// Spot is a Seoul hot spot the demo stores gather around.
type Spot struct {
	Name     string
	Lat, Lng float64
}

// Spots are where the map app opens interesting.
var Spots = []Spot{
	{"홍대", 37.5563, 126.9236},
	{"강남역", 37.4979, 127.0276},
	{"잠실", 37.5133, 127.1001},
	{"명동", 37.5636, 126.9869},
	{"성수", 37.5446, 127.0559},
}

// Store is a demo store. Its stable key is (owner, name): Load finds it
// by that on every run.
type Store struct {
	Owner       int // index into Owners
	Name        string
	Category    string
	Description string
	Address     string
	Phone       string
	Lat, Lng    float64
}

// Stores are eight stores at each of the five spots, within about 600 m of
// its centre, every category represented.
var Stores = []Store{
	// 홍대 (owner1)
	{0, "연남 골목 커피", "CAFE", "핸드드립과 플랫화이트가 맛있는 연남동 골목 카페. 창가 자리가 인기입니다.", "서울 마포구 연남로 12", "02-332-1001", 37.5598, 126.9249},
	{0, "홍대 수제버거", "FOOD", "매일 아침 직접 다지는 패티로 굽는 수제버거 전문점.", "서울 마포구 와우산로21길 19", "02-332-1002", 37.5555, 126.9221},
	{0, "상수 버터 베이커리", "BAKERY", "프랑스산 버터로 굽는 크루아상과 까눌레.", "서울 마포구 독막로 68", "02-332-1003", 37.5530, 126.9210},
	{0, "홍대 라이브 펍", "BAR", "주말마다 인디 밴드 공연이 열리는 펍.", "서울 마포구 어울마당로 35", "02-332-1004", 37.5549, 126.9245},
	{0, "와우산 편의점", "CONVENIENCE", "24시간 문을 여는 홍대입구역 앞 편의점.", "서울 마포구 양화로 160", "02-332-1005", 37.5570, 126.9260},
	{0, "연트럴 네일", "BEAUTY", "연트럴파크 옆 젤네일·페디큐어 샵.", "서울 마포구 동교로 240", "02-332-1006", 37.5585, 126.9230},
	{0, "홍대 빈티지 마켓", "FASHION", "90년대 빈티지 데님과 스웨트셔츠를 고르는 재미.", "서울 마포구 홍익로 10", "02-332-1007", 37.5540, 126.9232},
	{0, "홍대 코인노래방", "ENTERTAINMENT", "최신곡이 가장 빨리 들어오는 코인노래방.", "서울 마포구 잔다리로 25", "02-332-1008", 37.5560, 126.9215},
	// 강남역 (owner2)
	{1, "강남역 스페셜티 커피", "CAFE", "싱글 오리진 원두를 매주 바꿔 내리는 스페셜티 카페.", "서울 강남구 강남대로 396", "02-555-2001", 37.4990, 127.0282},
	{1, "강남 한우 국밥", "FOOD", "24시간 끓이는 한우 사골 국밥.", "서울 강남구 테헤란로1길 10", "02-555-2002", 37.4968, 127.0290},
	{1, "강남 크루아상 하우스", "BAKERY", "오전 11시와 오후 3시, 하루 두 번 갓 구운 크루아상.", "서울 서초구 서초대로77길 24", "02-555-2003", 37.4985, 127.0260},
	{1, "강남역 와인바", "BAR", "퇴근길 한 잔, 글라스 와인 20종.", "서울 강남구 강남대로94길 15", "02-555-2004", 37.4960, 127.0268},
	{1, "강남 헤어살롱", "BEAUTY", "예약 없이도 바로 되는 커트와 드라이.", "서울 강남구 강남대로 428", "02-555-2005", 37.5000, 127.0270},
	{1, "강남 방탈출 카페", "ENTERTAINMENT", "테마 6개, 공포부터 추리까지.", "서울 강남구 테헤란로5길 7", "02-555-2006", 37.4975, 127.0300},
	{1, "강남역 편의점", "CONVENIENCE", "강남역 11번 출구 앞 편의점.", "서울 강남구 강남대로 390", "02-555-2007", 37.4982, 127.0279},
	{1, "강남 셀렉트숍", "FASHION", "국내 디자이너 브랜드를 모은 편집숍.", "서울 강남구 강남대로102길 30", "02-555-2008", 37.4995, 127.0295},
	// 잠실 (owner3)
	{2, "석촌호수 카페", "CAFE", "석촌호수 산책로가 내려다보이는 루프탑 카페.", "서울 송파구 석촌호수로 268", "02-412-3001", 37.5105, 127.1030},
	{2, "잠실 떡볶이", "FOOD", "40년 된 밀떡볶이와 김말이 튀김.", "서울 송파구 올림픽로 269", "02-412-3002", 37.5140, 127.1010},
	{2, "잠실 식빵 공방", "BAKERY", "우유 식빵과 옥수수 식빵이 유명한 동네 빵집.", "서울 송파구 백제고분로 435", "02-412-3003", 37.5125, 127.0985},
	{2, "잠실 볼링장", "ENTERTAINMENT", "레인 24개, 주말 가족 볼링 명소.", "서울 송파구 올림픽로 240", "02-412-3004", 37.5150, 127.1020},
	{2, "잠실 수제맥주", "BAR", "직접 양조하는 IPA와 스타우트.", "서울 송파구 송파대로 570", "02-412-3005", 37.5118, 127.1012},
	{2, "잠실 헤어 앤 스파", "BEAUTY", "두피 스파와 염색 전문.", "서울 송파구 잠실로 62", "02-412-3006", 37.5145, 127.0990},
	{2, "잠실 꽃집", "ETC", "당일 제작 꽃다발과 화분.", "서울 송파구 석촌호수로 220", "02-412-3007", 37.5128, 127.1040},
	{2, "잠실 스포츠웨어", "FASHION", "러닝화와 요가복 전문 매장.", "서울 송파구 올림픽로 300", "02-412-3008", 37.5138, 127.0975},
	// 명동 (owner1)
	{0, "명동 칼국수", "FOOD", "진한 닭 육수 칼국수와 마늘 김치.", "서울 중구 명동10길 29", "02-776-4001", 37.5630, 126.9855},
	{0, "명동 화장품 로드숍", "BEAUTY", "K-뷰티 스킨케어 신상품을 가장 먼저.", "서울 중구 명동길 53", "02-776-4002", 37.5640, 126.9860},
	{0, "명동 길거리 카페", "CAFE", "명동성당 가는 길의 작은 테이크아웃 카페.", "서울 중구 명동길 74", "02-776-4003", 37.5625, 126.9875},
	{0, "명동 왕만두", "FOOD", "손으로 빚는 고기만두와 김치만두.", "서울 중구 명동8길 21", "02-776-4004", 37.5645, 126.9880},
	{0, "명동 기념품 가게", "ETC", "한국 전통 소품과 엽서.", "서울 중구 남대문로 81", "02-776-4005", 37.5633, 126.9890},
	{0, "명동 스트리트 패션", "FASHION", "트렌디한 스트리트 브랜드 의류.", "서울 중구 명동6길 13", "02-776-4006", 37.5620, 126.9862},
	{0, "명동 베이글", "BAKERY", "매일 아침 반죽하는 뉴욕식 베이글.", "서울 중구 명동9길 16", "02-776-4007", 37.5650, 126.9858},
	{0, "명동 편의점", "CONVENIENCE", "관광객을 위한 환전·유심 안내 편의점.", "서울 중구 명동길 14", "02-776-4008", 37.5638, 126.9872},
	// 성수 (owner3)
	{2, "성수 로스터리", "CAFE", "붉은 벽돌 공장을 개조한 로스터리 카페.", "서울 성동구 연무장길 41", "02-464-5001", 37.5440, 127.0560},
	{2, "성수 수제화 공방", "FASHION", "성수동 장인이 만드는 맞춤 수제화.", "서울 성동구 성수이로 78", "02-464-5002", 37.5455, 127.0540},
	{2, "성수 소금빵", "BAKERY", "줄 서서 사는 버터 소금빵.", "서울 성동구 서울숲2길 32", "02-464-5003", 37.5450, 127.0575},
	{2, "성수 브런치", "FOOD", "에그 베네딕트와 수제 그래놀라.", "서울 성동구 아차산로 17", "02-464-5004", 37.5430, 127.0550},
	{2, "성수 칵테일바", "BAR", "제철 과일로 만드는 시그니처 칵테일.", "서울 성동구 연무장5길 9", "02-464-5005", 37.5460, 127.0565},
	{2, "성수 팝업 갤러리", "ENTERTAINMENT", "매달 바뀌는 브랜드 팝업과 전시.", "서울 성동구 성수일로 99", "02-464-5006", 37.5438, 127.0580},
	{2, "성수 피부관리", "BEAUTY", "민감 피부 진정 관리 전문.", "서울 성동구 왕십리로 115", "02-464-5007", 37.5448, 127.0530},
	{2, "성수 꽃 작업실", "ETC", "플라워 클래스와 드라이플라워.", "서울 성동구 성수이로7길 20", "02-464-5008", 37.5425, 127.0568},
}

// Kind is what an event shows off on the map.
type Kind int

// Event kinds.
const (
	Live     Kind = iota // issuing now
	SoldOut              // issuing now, but every coupon is taken
	Upcoming             // the window opens later
)

// Event is a demo coupon event. Its stable key is (store, title) among the
// store's events whose window has not ended: a rerun within the window
// finds it; a rerun after it ended launches a fresh one, so the demo never
// goes stale.
type Event struct {
	Store          string // Store.Name
	Title          string
	Description    string
	DiscountType   string
	DiscountValue  int
	MaxDiscount    int // 0: none
	MinOrder       int // 0: none
	Quantity       int
	Kind           Kind
	StartsIn       time.Duration // Upcoming only
	Lasts          time.Duration // window length
	ValidHours     int           // 0: valid until the window ends plus a week
	PerMemberLimit int           // 0: the default, 1
	GeofenceM      int           // 0: anywhere
}

// Events are the demo events: live, sold-out, upcoming and one geofenced.
var Events = []Event{
	{Store: "연남 골목 커피", Title: "아메리카노 1,000원 할인", Description: "모든 아메리카노 사이즈에 적용됩니다.",
		DiscountType: "AMOUNT", DiscountValue: 1000, Quantity: 100, Kind: Live, Lasts: 14 * 24 * time.Hour, ValidHours: 72},
	{Store: "홍대 수제버거", Title: "버거 세트 15% 할인", Description: "세트 메뉴 주문 시, 최대 3,000원.",
		DiscountType: "PERCENT", DiscountValue: 15, MaxDiscount: 3000, Quantity: 50, Kind: Live, Lasts: 10 * 24 * time.Hour, ValidHours: 48},
	{Store: "홍대 코인노래방", Title: "30분 추가 무료", Description: "1시간 이용 시 30분을 더 드립니다.",
		DiscountType: "AMOUNT", DiscountValue: 2000, Quantity: 80, Kind: Live, Lasts: 7 * 24 * time.Hour, ValidHours: 24},
	{Store: "강남역 스페셜티 커피", Title: "핸드드립 2,000원 할인", Description: "이번 주 싱글 오리진 핸드드립.",
		DiscountType: "AMOUNT", DiscountValue: 2000, MinOrder: 6000, Quantity: 60, Kind: Live, Lasts: 14 * 24 * time.Hour, ValidHours: 72},
	{Store: "강남 방탈출 카페", Title: "평일 방탈출 20% 할인", Description: "월–목 예약, 1인 2매까지.",
		DiscountType: "PERCENT", DiscountValue: 20, MaxDiscount: 10000, Quantity: 40, Kind: Live, Lasts: 21 * 24 * time.Hour, ValidHours: 168, PerMemberLimit: 2},
	{Store: "석촌호수 카페", Title: "호수뷰 음료 2,000원 할인", Description: "루프탑 좌석 이용 시.",
		DiscountType: "AMOUNT", DiscountValue: 2000, Quantity: 70, Kind: Live, Lasts: 14 * 24 * time.Hour, ValidHours: 72},
	{Store: "잠실 떡볶이", Title: "떡볶이 1,000원 할인", Description: "떡볶이 2인분 이상 주문 시.",
		DiscountType: "AMOUNT", DiscountValue: 1000, MinOrder: 8000, Quantity: 100, Kind: Live, Lasts: 14 * 24 * time.Hour, ValidHours: 48},
	{Store: "성수 로스터리", Title: "원두 200g 10% 할인", Description: "매장에서 갓 볶은 원두.",
		DiscountType: "PERCENT", DiscountValue: 10, Quantity: 30, Kind: Live, Lasts: 14 * 24 * time.Hour},
	{Store: "명동 베이글", Title: "베이글 세트 1,500원 할인", Description: "베이글과 커피 세트.",
		DiscountType: "AMOUNT", DiscountValue: 1500, Quantity: 50, Kind: Live, Lasts: 14 * 24 * time.Hour},
	// The geofenced one: only people standing in Myeongdong may take it.
	{Store: "명동 화장품 로드숍", Title: "명동 방문 고객 20% 할인", Description: "매장 반경 300m 안에서만 받을 수 있어요.",
		DiscountType: "PERCENT", DiscountValue: 20, MaxDiscount: 15000, Quantity: 200, Kind: Live, Lasts: 14 * 24 * time.Hour, ValidHours: 6, GeofenceM: 300},
	{Store: "강남 크루아상 하우스", Title: "갓 구운 크루아상 무료", Description: "오전 11시 오픈런 선착순.",
		DiscountType: "AMOUNT", DiscountValue: 3500, Quantity: 5, Kind: SoldOut, Lasts: 7 * 24 * time.Hour, ValidHours: 24},
	{Store: "성수 소금빵", Title: "소금빵 선착순 무료", Description: "하루 3명만.",
		DiscountType: "AMOUNT", DiscountValue: 3000, Quantity: 3, Kind: SoldOut, Lasts: 7 * 24 * time.Hour, ValidHours: 24},
	{Store: "명동 칼국수", Title: "점심 칼국수 2,000원 할인", Description: "평일 점심 11:30–14:00.",
		DiscountType: "AMOUNT", DiscountValue: 2000, Quantity: 4, Kind: SoldOut, Lasts: 7 * 24 * time.Hour, ValidHours: 24},
	{Store: "잠실 볼링장", Title: "주말 1게임 무료", Description: "토·일 1게임, 신발 대여 포함.",
		DiscountType: "AMOUNT", DiscountValue: 6000, Quantity: 40, Kind: Upcoming, StartsIn: 24 * time.Hour, Lasts: 8 * 24 * time.Hour, ValidHours: 72},
	{Store: "성수 칵테일바", Title: "해피아워 칵테일 30% 할인", Description: "오후 5–7시 시그니처 칵테일.",
		DiscountType: "PERCENT", DiscountValue: 30, Quantity: 60, Kind: Upcoming, StartsIn: 3 * time.Hour, Lasts: 7 * 24 * time.Hour, ValidHours: 4},
	{Store: "강남역 와인바", Title: "글라스 와인 한 잔 무료", Description: "첫 방문 고객 한정.",
		DiscountType: "AMOUNT", DiscountValue: 9000, Quantity: 20, Kind: Upcoming, StartsIn: 48 * time.Hour, Lasts: 5 * 24 * time.Hour, ValidHours: 24},
}

// customerCoupons are the events the demo customer already holds a coupon
// of; the first one is already used at the store.
var customerCoupons = []string{"아메리카노 1,000원 할인", "호수뷰 음료 2,000원 할인"}
